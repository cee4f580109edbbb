package cairn.console.internal;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Optional;

import org.jline.reader.Candidate;
import org.jline.reader.Completer;
import org.jline.reader.LineReader;
import org.jline.reader.ParsedLine;

import cairn.console.api.ArgumentCompleter;
import cairn.platform.api.security.Caller;

/**
 * Tab completion: command names the caller may run, option names of the command, and
 * argument values from commands that implement {@link ArgumentCompleter}.
 */
final class ConsoleCompleter implements Completer {

    private final CommandCatalog catalog;
    private final Caller caller;

    ConsoleCompleter(CommandCatalog catalog, Caller caller) {
        this.catalog = catalog;
        this.caller = caller;
    }

    /** The words typed so far without options and their values: what the completer counts on. */
    static List<String> positional(ConsoleFunction f, List<String> typed) {
        Set<String> flags = new HashSet<>(List.of(ConsoleFunction.JSON_FLAG, ConsoleFunction.HELP_FLAG));
        Set<String> valued = new HashSet<>();
        for (Method m : f.methods()) {
            Help.optionNames(m, flags, valued);
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < typed.size(); i++) {
            String w = typed.get(i);
            if (valued.contains(w)) {
                i++;
            } else if (!flags.contains(w)) {
                out.add(w);
            }
        }
        return out;
    }

    @Override
    public void complete(LineReader reader, ParsedLine line, List<Candidate> candidates) {
        if (line.wordIndex() == 0) {
            for (ConsoleFunction f : catalog.functions(caller)) {
                String summary = Help.summary(f);
                candidates.add(new Candidate(f.name(), f.name(), f.scope(), summary, null, null, true));
            }
            candidates.add(new Candidate("exit", "exit", null, "close the session", null, null, true));
            return;
        }
        Optional<ConsoleFunction> found = catalog.find(line.words().get(0)).filter(f -> f.allows(caller));
        if (found.isEmpty()) {
            return;
        }
        ConsoleFunction f = found.get();
        if (line.word().startsWith("-")) {
            for (Method m : f.methods()) {
                Help.optionNames(m).forEach(name -> candidates.add(new Candidate(name)));
            }
            candidates.add(new Candidate(ConsoleFunction.JSON_FLAG));
            candidates.add(new Candidate(ConsoleFunction.HELP_FLAG));
            return;
        }
        if (f.target() instanceof ArgumentCompleter completer) {
            List<String> words = positional(f, line.words().subList(1, line.wordIndex()));
            words.add(line.word());
            try {
                for (String value : completer.complete(caller, f.function(), words)) {
                    candidates.add(new Candidate(value));
                }
            } catch (RuntimeException e) {
                // completion is a convenience: a failing lookup offers nothing rather than breaking the line
            }
        }
    }
}
