package cairn.console.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.apache.felix.gogo.runtime.CommandSessionImpl;
import org.jline.reader.LineReader;

import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Caller;

/** A Gogo session that knows who is logged in; nothing typed in the session can change that. */
final class ConsoleSession extends CommandSessionImpl {

    private final Caller caller;
    private final InputStream input;
    private volatile LineReader reader;

    ConsoleSession(ConsoleProcessor processor, Caller caller, InputStream in, PrintStream out, PrintStream err) {
        super(processor, in, out, err);
        this.caller = caller;
        this.input = in;
    }

    ConsoleSession(ConsoleProcessor processor, ConsoleSession parent) {
        super(processor, parent);
        this.caller = parent.caller;
        this.input = parent.input;
        this.reader = parent.reader;
    }

    /**
     * No working directory: Gogo then expands no file-name patterns ({@code user.*} stays
     * as typed instead of matching, or leaking, files of the appliance's directory).
     */
    @Override
    public Path currentDir() {
        return null;
    }

    Caller caller() {
        return caller;
    }

    /** Set by the interactive shell: secrets are then asked with a masked prompt. */
    void lineReader(LineReader reader) {
        this.reader = reader;
    }

    boolean interactive() {
        return reader != null;
    }

    /**
     * A secret the user did not give as an option: a masked prompt on a terminal, else
     * the next line of the channel's standard input ({@code echo pw | ssh ... user:add bob}).
     */
    String readSecret(String field, String prompt) {
        String value;
        LineReader r = reader;
        if (r != null) {
            value = r.readLine(prompt, '*');
        } else {
            try {
                // not closed: the stream belongs to the SSH channel
                value = new BufferedReader(new InputStreamReader(input, StandardCharsets.UTF_8)).readLine();
            } catch (IOException e) {
                value = null;
            }
        }
        if (value == null || value.isEmpty()) {
            throw new InvalidInputException(field, "give it with --" + field + " or on standard input");
        }
        return value;
    }
}
