package cairn.itests.system;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real OpenSSH client against the appliance's console. Passwords go through sshpass
 * (from the environment, never the command line); keys with IdentitiesOnly and no agent,
 * so nothing from the machine's own SSH setup takes part.
 */
final class Ssh {

    /** What one ssh run gave back. */
    record Result(int status, String out, String err) {
        @Override
        public String toString() {
            return "exit " + status + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    private final int port;
    private final Path dir;
    private final Path knownHosts;

    Ssh(int port, Path dir) {
        this.port = port;
        this.dir = dir;
        this.knownHosts = dir.resolve("known_hosts");
    }

    List<String> options() {
        return new ArrayList<>(List.of("-p", Integer.toString(port), "-o", "StrictHostKeyChecking=no", "-o",
                "UserKnownHostsFile=" + knownHosts, "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20", "-F",
                "/dev/null"));
    }

    /** Logs in with a password and runs one command line. */
    Result password(String user, String password, String command) {
        return password(user, password, command, null);
    }

    Result password(String user, String password, String command, String stdin) {
        List<String> cmd = new ArrayList<>(List.of("sshpass", "-e", "ssh"));
        cmd.addAll(options());
        cmd.addAll(List.of("-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password", "-o",
                "NumberOfPasswordPrompts=1", user + "@127.0.0.1", command));
        return run(cmd, password, stdin);
    }

    /** Logs in with a private key file and runs one command line. */
    Result key(String user, Path privateKey, String command) {
        List<String> cmd = new ArrayList<>(List.of("ssh"));
        cmd.addAll(options());
        cmd.addAll(List.of("-i", privateKey.toString(), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o",
                "PreferredAuthentications=publickey", "-o", "BatchMode=yes", user + "@127.0.0.1", command));
        return run(cmd, null, null);
    }

    /** A new Ed25519 key pair made by ssh-keygen; returns the private key's path. */
    Path newKey(String name) {
        Path key = dir.resolve(name);
        Result r = run(List.of("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@test", "-f",
                key.toString()), null, null);
        if (r.status() != 0) {
            throw new AssertionError("ssh-keygen failed: " + r);
        }
        return key;
    }

    static String publicKey(Path privateKey) {
        try {
            return Files.readString(Path.of(privateKey + ".pub"), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The host key lines the server offers, as ssh-keyscan prints them. */
    String hostKeys() {
        Result r = run(List.of("ssh-keyscan", "-t", "ed25519", "-p", Integer.toString(port), "-T", "20", "127.0.0.1"), null, null);
        if (r.status() != 0 || r.out().isBlank()) {
            throw new AssertionError("ssh-keyscan found no key: " + r);
        }
        return r.out().lines().filter(l -> !l.startsWith("#")).sorted().reduce("", (a, b) -> a + b + "\n");
    }

    Result run(List<String> cmd, String password, String stdin) {
        try {
            Path out = Files.createTempFile(dir, "ssh-out", ".txt");
            Path err = Files.createTempFile(dir, "ssh-err", ".txt");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            if (password != null) {
                pb.environment().put("SSHPASS", password);
            }
            Process p = pb.start();
            try (var in = p.getOutputStream()) {
                if (stdin != null) {
                    in.write(stdin.getBytes(StandardCharsets.UTF_8));
                }
            }
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("timed out: " + cmd);
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
