package cairn.itests.system;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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
    private final Path status;
    private final String session = "console";

    Tmux(Path dir, Ssh runner) {
        this.runner = runner;
        this.socket = dir.resolve("tmux.sock");
        this.status = dir.resolve("exit-status");
    }

    /** Starts {@code command} (a shell command line) in a 160x40 terminal, with extra environment. */
    Tmux start(String command, List<String> environment) {
        List<String> cmd = new ArrayList<>(List.of("tmux", "-S", socket.toString(), "-f", "/dev/null",
                "new-session", "-d", "-s", session, "-x", "160", "-y", "40"));
        for (String e : environment) {
            cmd.addAll(List.of("-e", e));
        }
        // the pane's shell records how the program ended: tmux itself sometimes leaves an
        // exited program unreaped (a zombie, the pane dead but with no status), so its
        // pane_dead_status cannot be waited for
        cmd.add(command + "; echo $? > " + status);
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

    /** Whether the pane's program has ended (its exit status is known). */
    boolean exited() {
        return !exitStatus().isEmpty();
    }

    /** The program's exit status (128 + N when signal N ended it), empty while it runs. */
    String exitStatus() {
        try {
            return Files.exists(status) ? Files.readString(status, StandardCharsets.UTF_8).strip() : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
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
