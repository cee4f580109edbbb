package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import cairn.itests.support.ApplianceProcess;

/**
 * The interactive console through a real pseudo-terminal: OpenSSH's client with
 * {@code -tt} inside tmux, driven by key presses.
 */
public class ConsoleShellTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void anIdleSessionIsClosedAfterTheConfiguredTimeout() throws Exception {
        Path dir = tmp.getRoot().toPath();
        // the operator's override of the console's typed configuration (PID cairn.console.ssh)
        Files.createDirectories(dir.resolve("data/etc"));
        Files.writeString(dir.resolve("data/etc/cairn.console.ssh.cfg"), "idleTimeoutSeconds=3\n");
        try (ApplianceProcess app = ApplianceProcess.create(dir).startAndAwaitReady();
                Tmux tmux = new Tmux(tmp.newFolder("tmux").toPath(), new Ssh(app.port("ssh"), dir))) {
            // FileInstall hands the file to the console shortly after readiness
            await("the console took the idle timeout").atMost(Duration.ofSeconds(60))
                    .until(() -> app.consoleText().contains("idle timeout 3 s"));
            Ssh ssh = new Ssh(app.port("ssh"), tmp.newFolder("ssh").toPath());
            tmux.start("sshpass -e ssh -tt " + String.join(" ", ssh.options())
                    + " -o PubkeyAuthentication=no -o PreferredAuthentications=password admin@127.0.0.1",
                    List.of("SSHPASS=" + app.initialAdminPassword(), "TERM=xterm-256color"));
            tmux.awaitScreen("the prompt", s -> s.contains("admin@") && s.contains("> "));
            long loggedIn = System.nanoTime();
            await("idle session closed").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(tmux::exited);
            long idle = Duration.ofNanos(System.nanoTime() - loggedIn).toMillis();
            assertTrue("closed after " + idle + " ms", idle >= 2000);
            // the server ended the connection (OpenSSH prints the disconnect it received)
            assertThat(tmux.screen(), containsString("disconnect"));
        }
    }

    private static long count(String screen, String s) {
        return screen.lines().filter(l -> l.contains(s)).count();
    }

    @Test
    public void promptCommandsCompletionHistoryCtrlCAndExit() throws Exception {
        Path dir = tmp.getRoot().toPath();
        try (ApplianceProcess app = ApplianceProcess.create(dir).startAndAwaitReady();
                Tmux tmux = new Tmux(tmp.newFolder("tmux").toPath(), new Ssh(app.port("ssh"), dir))) {
            Ssh ssh = new Ssh(app.port("ssh"), tmp.newFolder("ssh").toPath());
            String password = app.initialAdminPassword();
            // the client's own account of the session (-v, to a file, not the screen)
            Path clientLog = dir.resolve("ssh-client.log");
            String client = "sshpass -e ssh -tt -v -E " + clientLog + " " + String.join(" ", ssh.options())
                    + " -o PubkeyAuthentication=no -o PreferredAuthentications=password admin@127.0.0.1";
            tmux.start(client, List.of("SSHPASS=" + password, "TERM=xterm-256color"));
            String prompt = "admin@";

            // the prompt
            String screen = tmux.awaitScreen("the prompt", s -> s.contains(prompt) && s.contains("> "));
            assertThat(screen, containsString("logged in as admin (admin)"));

            // tab completion of a command name, then the command runs
            tmux.type("cairn:sta");
            tmux.press("Tab");
            tmux.awaitScreen("completed command name", s -> s.contains("cairn:status"));
            tmux.press("Enter");
            tmux.awaitScreen("status output", s -> s.contains("uptime seconds:"));

            // history: the previous line comes back with Up
            long before = count(tmux.screen(), "> cairn:status");
            tmux.press("Up");
            tmux.awaitScreen("recalled line", s -> count(s, "> cairn:status") == before + 1);
            tmux.press("C-u");

            // tab completion of an argument: a user name
            tmux.type("user:keys ad");
            tmux.press("Tab");
            tmux.awaitScreen("completed user name", s -> s.contains("user:keys admin"));
            tmux.press("Enter");
            tmux.awaitScreen("the keys (none yet)", s -> s.contains("(none)"));

            // log:tail follows until Ctrl-C, then the prompt is back and commands run again
            tmux.type("log:tail -n 2");
            tmux.press("Enter");
            tmux.awaitScreen("log lines", s -> s.contains("INFO"));
            long prompts = count(tmux.screen(), prompt);
            tmux.press("C-c");
            tmux.awaitScreen("prompt after Ctrl-C", s -> count(s, prompt) > prompts);
            tmux.type("bundle:list");
            tmux.press("Enter");
            tmux.awaitScreen("bundle list after Ctrl-C", s -> s.contains("cairn.console"));

            // exit closes the session, and the client exits 0
            tmux.type("exit");
            tmux.press("Enter");
            try {
                await("ssh client exits").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                        .until(tmux::exited);
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                throw new AssertionError("ssh client still running; screen:\n" + tmux.screen()
                        + "\nthe client's log:\n" + (Files.exists(clientLog) ? Files.readString(clientLog) : "(none)")
                        + "\nconsole threads of the appliance:\n" + consoleThreads(app.threadDump()), e);
            }
            assertEquals("0", tmux.exitStatus());
        }
    }

    /** The dump's threads that run console, JLine or SSH code: where a session can hang. */
    private static String consoleThreads(String dump) {
        StringBuilder b = new StringBuilder();
        for (String thread : dump.split("\n\\s*\n")) {
            if (thread.contains("cairn.console") || thread.contains("cairn-ssh") || thread.contains("org.jline") || thread.contains("org.apache.sshd")) {
                b.append(thread.strip()).append("\n\n");
            }
        }
        return b.length() == 0 ? dump : b.toString();
    }
}
