package cairn.console.internal;

import java.io.PrintStream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs one command line in a session and reports a failure as one line and an exit status. */
final class CommandRunner {

    private static final Logger LOG = LoggerFactory.getLogger(CommandRunner.class);

    private CommandRunner() {
    }

    /** @return 0, or the failure's exit status after printing its message on {@code err} */
    static int run(ConsoleSession session, String line, Output output, PrintStream out, PrintStream err) {
        return run(session, line, output, out, err, false);
    }

    /**
     * @param interactive at a prompt, Ctrl-C is how a person stops a command that follows
     *                    output: it ends the command silently rather than as an error
     */
    static int run(ConsoleSession session, String line, Output output, PrintStream out, PrintStream err,
            boolean interactive) {
        try {
            Object result = session.execute(line);
            // our functions print their own results; values of plain expressions are shown here
            if (result != null) {
                output.print(result, false, out);
            }
            out.flush();
            return 0;
        } catch (Exception | LinkageError e) {
            Failures.Failure f = Failures.of(e);
            if (f.unexpected()) {
                LOG.warn("Console command of {} failed: {}", session.caller().user(), line, e);
            }
            out.flush();
            if (interactive && f.exitStatus() == Failures.INTERRUPTED) {
                err.println();
                err.flush();
                return f.exitStatus();
            }
            err.println("error: " + f.message());
            err.flush();
            return f.exitStatus();
        }
    }
}
