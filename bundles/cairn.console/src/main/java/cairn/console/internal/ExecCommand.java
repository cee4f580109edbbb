package cairn.console.internal;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;

import org.apache.felix.service.command.Job;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;

import cairn.platform.api.security.Caller;

/**
 * {@code ssh admin@host 'cairn:status'}: one command line in a fresh session; output on
 * stdout, a failure as one line on stderr, and the exit status of {@link Failures}.
 */
final class ExecCommand implements Command {

    private final CommandCatalog catalog;
    private final ExecutorService executor;
    private final String line;
    private InputStream in;
    private OutputStream out;
    private OutputStream err;
    private ExitCallback exit;
    private volatile Future<?> running;
    private volatile ConsoleSession session;

    ExecCommand(CommandCatalog catalog, ExecutorService executor, String line) {
        this.catalog = catalog;
        this.executor = executor;
        this.line = line == null ? "" : line.strip();
    }

    @Override
    public void setInputStream(InputStream in) {
        this.in = in;
    }

    @Override
    public void setOutputStream(OutputStream out) {
        this.out = out;
    }

    @Override
    public void setErrorStream(OutputStream err) {
        this.err = err;
    }

    @Override
    public void setExitCallback(ExitCallback callback) {
        this.exit = callback;
    }

    @Override
    public void start(ChannelSession channel, Environment env) {
        Caller caller = SshConsole.caller(channel);
        try {
            running = executor.submit(() -> run(caller));
        } catch (RejectedExecutionException e) {
            exit.onExit(7, "the console is stopping");
        }
    }

    private void run(Caller caller) {
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        int status;
        if (line.isEmpty()) {
            e.println("error: no command given (try: help)");
            status = 2;
        } else {
            try {
                session = catalog.processor().open(caller, in, o, e);
                status = CommandRunner.run(session, line, catalog.output(), o, e);
            } catch (IllegalStateException stopping) {
                e.println("error: " + Failures.oneLine(stopping.getMessage()));
                status = 7;
            } finally {
                if (session != null) {
                    session.close();
                }
            }
        }
        o.flush();
        e.flush();
        exit.onExit(status);
    }

    @Override
    public void destroy(ChannelSession channel) {
        // the client went away (or the server stops): end a command that follows output
        ConsoleSession s = session;
        Job job = s == null ? null : s.foregroundJob();
        if (job != null) {
            job.interrupt();
        }
        Future<?> f = running;
        if (f != null) {
            f.cancel(true);
        }
    }
}
