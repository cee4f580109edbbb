package cairn.console.internal;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.UndeclaredThrowableException;

import org.apache.felix.gogo.runtime.CommandNotFoundException;
import org.apache.felix.gogo.runtime.EOFError;
import org.apache.felix.gogo.runtime.SyntaxError;

import cairn.platform.api.errors.CairnException;

/**
 * What a failed command shows: one line a person can act on, and an exit status for
 * scripts. Only unexpected errors go to the appliance log with their stack trace.
 *
 * <p>Exit statuses: 1 internal error, 2 invalid input or usage, 3 not allowed (role or
 * credentials), 4 not found, 5 conflict, 6 throttled, 7 unavailable (retry), 127 unknown
 * command, 130 interrupted.
 */
final class Failures {

    static final int INTERRUPTED = 130;

    record Failure(String message, int exitStatus, boolean unexpected) {
    }

    private Failures() {
    }

    static Throwable unwrap(Throwable t) {
        Throwable e = t;
        while ((e instanceof InvocationTargetException || e instanceof UndeclaredThrowableException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    static Failure of(Throwable thrown) {
        Throwable t = unwrap(thrown);
        if (t instanceof CairnException c) {
            return new Failure(oneLine(c.getMessage()), switch (c.kind()) {
                case INVALID_INPUT -> 2;
                case UNAUTHENTICATED, FORBIDDEN -> 3;
                case NOT_FOUND -> 4;
                case CONFLICT -> 5;
                case THROTTLED -> 6;
                case UNAVAILABLE -> 7;
            }, false);
        }
        if (t instanceof CommandNotFoundException c) {
            return new Failure("unknown command '" + c.getCommand() + "' (type help for the list)", 127, false);
        }
        if (t instanceof SyntaxError || t instanceof EOFError) {
            return new Failure("syntax error: " + oneLine(t.getMessage()), 2, false);
        }
        if (t instanceof InterruptedException || t instanceof java.util.concurrent.CancellationException) {
            return new Failure("interrupted", INTERRUPTED, false);
        }
        if (t instanceof IllegalArgumentException) {
            return new Failure(oneLine(t.getMessage()), 2, false);
        }
        return new Failure("internal error: " + oneLine(String.valueOf(t.getMessage()))
                + " (details in the appliance log)", 1, true);
    }

    /** The audit log's result code for a failure. */
    static String code(Throwable thrown) {
        Throwable t = unwrap(thrown);
        if (t instanceof CairnException c) {
            return c.code();
        }
        if (t instanceof IllegalArgumentException) {
            return "invalid_input";
        }
        if (t instanceof InterruptedException) {
            return "interrupted";
        }
        return "error";
    }

    static String oneLine(String message) {
        if (message == null || message.isBlank()) {
            return "failed";
        }
        return message.strip().replaceAll("\\s*[\\r\\n]+\\s*", " ");
    }
}
