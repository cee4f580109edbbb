package cairn.console.internal;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.CommandSessionImpl;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.threadio.ThreadIO;

import cairn.platform.api.security.Caller;

/**
 * The console's own Gogo processor. It holds only role-checked command wrappers, and it
 * closes two doors of the Gogo language that would bypass them: calling Java methods on
 * values ({@code ("x" getClass) forName ...}) and redirecting output into files on the
 * appliance. Sessions are created only with an authenticated {@link Caller}.
 */
final class ConsoleProcessor extends CommandProcessorImpl {

    /** Unscoped names resolve in the cairn scope first, so {@code help} is ours. */
    static final String SCOPE_PATH = "cairn:*";

    ConsoleProcessor(ThreadIO threadIO) {
        super(threadIO);
    }

    ConsoleSession open(Caller caller, InputStream in, OutputStream out, OutputStream err) {
        synchronized (sessions) {
            if (stopped) {
                throw new IllegalStateException("the console is stopping");
            }
            ConsoleSession session = new ConsoleSession(this, caller, in, printStream(out),
                    out == err ? printStream(out) : printStream(err));
            sessions.put(session, null);
            session.put("SCOPE", SCOPE_PATH);
            return session;
        }
    }

    private static PrintStream printStream(OutputStream out) {
        return out instanceof PrintStream p ? p : new PrintStream(out, true, StandardCharsets.UTF_8);
    }

    @Override
    public CommandSessionImpl createSession(InputStream in, OutputStream out, OutputStream err) {
        throw new UnsupportedOperationException("console sessions are opened with a caller");
    }

    @Override
    public CommandSessionImpl createSession(CommandSession parent) {
        synchronized (sessions) {
            if (stopped || !(parent instanceof ConsoleSession p)) {
                throw new IllegalArgumentException("not a console session");
            }
            ConsoleSession child = new ConsoleSession(this, p);
            sessions.put(child, null);
            return child;
        }
    }

    @Override
    public Object invoke(CommandSessionImpl session, Object target, String name, List<Object> args) {
        throw new IllegalArgumentException("'" + name + "' is not a command here: calling methods on values is not "
                + "available in the console (type help for the commands)");
    }

    @Override
    public Path redirect(CommandSessionImpl session, Path path, int mode) {
        throw new IllegalArgumentException("redirecting to or from files is not available in the console");
    }
}
