package cairn.itests.system;

import static org.awaitility.Awaitility.await;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A real terminal for interactive programs: a private tmux server (its own socket under
 * the test's folder) running one command in a pane; keys are sent and the screen read
 * as a person would type and see them.
 */
final class Tmux implements AutoCloseable {

    private final Ssh runner;
    private final Path socket;
    private final String session = "console";

    Tmux(Path dir, Ssh runner) {
        this.runner = runner;
        this.socket = dir.resolve("tmux.sock");
    }

    /** Starts {@code command} (a shell command line) in a 160x40 terminal, with extra environment. */
    Tmux start(String command, List<String> environment) {
        List<String> cmd = new ArrayList<>(List.of("tmux", "-S", socket.toString(), "-f", "/dev/null",
                "new-session", "-d", "-s", session, "-x", "160", "-y", "40"));
        for (String e : environment) {
            cmd.addAll(List.of("-e", e));
        }
        cmd.add(command);
        check(runner.run(cmd, null, null));
        // keep the pane after the program exits, so its last words can be read
        check(runner.run(List.of("tmux", "-S", socket.toString(), "set-option", "-t", session, "remain-on-exit", "on"),
                null, null));
        return this;
    }

    /** Types literal text. */
    void type(String text) {
        check(runner.run(List.of("tmux", "-S", socket.toString(), "send-keys", "-t", session, "-l", text), null, null));
    }

    /** Presses named keys: Enter, Tab, C-c, Up... */
    void press(String... keys) {
        List<String> cmd = new ArrayList<>(List.of("tmux", "-S", socket.toString(), "send-keys", "-t", session));
        cmd.addAll(List.of(keys));
        check(runner.run(cmd, null, null));
    }

    /** The screen and its scroll-back, as text. */
    String screen() {
        Ssh.Result r = runner.run(List.of("tmux", "-S", socket.toString(), "capture-pane", "-p", "-J", "-S", "-1000",
                "-t", session), null, null);
        check(r);
        return r.out();
    }

    /** Waits until the screen satisfies the condition; fails with the screen shown. */
    String awaitScreen(String what, Predicate<String> condition) {
        String[] last = { "" };
        try {
            await(what).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> {
                last[0] = screen();
                return condition.test(last[0]);
            });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("waited for " + what + "; the screen shows:\n" + last[0], e);
        }
        return last[0];
    }

    /**
     * Whether the pane's program has ended and tmux has collected how. tmux marks a pane
     * dead when its terminal closes, which can come before it has reaped the program, so
     * until then the exit status is still unknown.
     */
    boolean paneDead() {
        String[] f = paneState();
        return f[0].equals("1") && !(f[1].isEmpty() && f[2].isEmpty());
    }

    /** The dead pane's exit status, or "signal N" when a signal ended it. */
    String paneExitStatus() {
        String[] f = paneState();
        return f[2].isEmpty() ? f[1] : "signal " + f[2];
    }

    String[] paneState() {
        Ssh.Result r = runner.run(List.of("tmux", "-S", socket.toString(), "display-message", "-p", "-t", session,
                "#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}"), null, null);
        String[] f = r.out().strip().split(":", -1);
        return f.length == 3 ? f : new String[] { "", "", "" };
    }

    @Override
    public void close() {
        runner.run(List.of("tmux", "-S", socket.toString(), "kill-server"), null, null);
    }

    private static void check(Ssh.Result r) {
        if (r.status() != 0) {
            throw new AssertionError("tmux failed: " + r);
        }
    }
}
