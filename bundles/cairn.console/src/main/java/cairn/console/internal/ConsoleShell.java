package cairn.console.internal;

import java.io.IOError;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

import org.apache.felix.service.command.Job;
import org.apache.sshd.server.Environment;
import org.apache.sshd.server.ExitCallback;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.command.Command;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.terminal.impl.ExternalTerminal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.platform.api.security.Caller;

/**
 * The interactive console: JLine on the SSH channel's streams (never the process's
 * own terminal) for the prompt, line editing, history and completion; Ctrl-C ends the
 * running command, Ctrl-D or {@code exit} ends the session.
 */
final class ConsoleShell implements Command {

    private static final Logger LOG = LoggerFactory.getLogger(ConsoleShell.class);

    private final CommandCatalog catalog;
    private final ExecutorService executor;
    private final Supplier<String> host;
    private InputStream in;
    private OutputStream out;
    private ExitCallback exit;
    private volatile Future<?> running;
    private volatile Terminal terminal;

    ConsoleShell(CommandCatalog catalog, ExecutorService executor, Supplier<String> host) {
        this.catalog = catalog;
        this.executor = executor;
        this.host = host;
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
        // a terminal has one output; errors are written there
    }

    @Override
    public void setExitCallback(ExitCallback callback) {
        this.exit = callback;
    }

    @Override
    public void start(ChannelSession channel, Environment env) throws IOException {
        Caller caller = SshConsole.caller(channel);
        Map<String, String> vars = env.getEnv();
        String type = vars.getOrDefault(Environment.ENV_TERM, "dumb");
        // A line discipline in Java on the channel's streams, not TerminalBuilder: its providers
        // would open an operating-system pty per session, whose kernel swallows Ctrl-C
        // instead of raising Signal.INT for us.
        terminal = new ExternalTerminal("cairn-ssh", type == null || type.isBlank() ? "dumb" : type, in, out,
                StandardCharsets.UTF_8);
        terminal.setSize(size(vars));
        env.addSignalListener((ch, signal) -> {
            terminal.setSize(size(env.getEnv()));
            terminal.raise(Terminal.Signal.WINCH);
        }, org.apache.sshd.server.Signal.WINCH);
        try {
            running = executor.submit(() -> run(caller));
        } catch (RejectedExecutionException e) {
            terminal.close();
            exit.onExit(7, "the console is stopping");
        }
    }

    private static Size size(Map<String, String> env) {
        return new Size(number(env.get(Environment.ENV_COLUMNS), 80), number(env.get(Environment.ENV_LINES), 24));
    }

    private static int number(String value, int fallback) {
        try {
            int n = Integer.parseInt(value);
            return n > 0 ? n : fallback;
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private void run(Caller caller) {
        Terminal t = terminal;
        PrintStream console = new PrintStream(t.output(), true, StandardCharsets.UTF_8);
        ConsoleSession session = null;
        try {
            session = catalog.processor().open(caller, t.input(), console, console);
            ConsoleSession s = session;
            LineReader reader = LineReaderBuilder.builder().terminal(t).appName("cairn")
                    .completer(new ConsoleCompleter(catalog, caller))
                    .variable(LineReader.HISTORY_SIZE, 1000)
                    .build();
            session.lineReader(reader);
            t.handle(Terminal.Signal.INT, signal -> {
                Job job = s.foregroundJob();
                if (job != null) {
                    job.interrupt();
                }
            });
            String name = host.get();
            console.println("Cairn console on " + name + ": logged in as " + caller.user() + " ("
                    + caller.role().id() + "). Type help for the commands, exit to leave.");
            String prompt = caller.user() + "@" + name + "> ";
            while (true) {
                String line;
                try {
                    line = reader.readLine(prompt);
                } catch (UserInterruptException e) {
                    continue;
                } catch (EndOfFileException e) {
                    break;
                }
                line = line.strip();
                if (line.isEmpty()) {
                    continue;
                }
                if (line.equals("exit") || line.equals("logout") || line.equals("quit")) {
                    break;
                }
                CommandRunner.run(session, line, catalog.output(), console, console, true);
            }
        } catch (RuntimeException | IOError e) {
            LOG.warn("Console session of {} ended with an error", caller.user(), e);
        } finally {
            // whatever closing throws, the channel is told the shell has ended: else the
            // client would wait for a session nobody serves
            try {
                if (session != null) {
                    session.close();
                }
                console.flush();
                t.close();
            } catch (IOException | RuntimeException e) {
                LOG.warn("Closing the console session of {}", caller.user(), e);
            } finally {
                LOG.debug("Console session of {} ended", caller.user());
                exit.onExit(0);
            }
        }
    }

    @Override
    public void destroy(ChannelSession channel) throws IOException {
        Future<?> f = running;
        if (f != null) {
            f.cancel(true);
        }
        Terminal t = terminal;
        if (t != null) {
            t.close();
        }
    }
}
