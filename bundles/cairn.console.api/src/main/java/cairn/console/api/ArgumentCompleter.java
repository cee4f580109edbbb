package cairn.console.api;

import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

import cairn.platform.api.security.Caller;

/**
 * Implemented by a command service that offers tab completion of its arguments
 * (user names, volume ids...). Called on the console's thread while the user types:
 * answer quickly, and only with what the caller may see.
 */
@ConsumerType
public interface ArgumentCompleter {

    /**
     * @param caller   who is typing
     * @param function the function being completed, e.g. {@code key-add}
     * @param words    the words typed after the function name, the last one being completed
     *                 (possibly empty)
     * @return candidate values for the last word; the console filters them by prefix
     */
    List<String> complete(Caller caller, String function, List<String> words);
}
