package cairn.itests.osgi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** Runs the real NBD client programs (qemu-utils, libnbd-bin, fio) for the NBD tests. */
final class NbdClients {

    record Result(int exit, String output) {
    }

    private NbdClients() {
    }

    static Result exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " timed out");
        }
        return new Result(p.exitValue(), out);
    }

    /** Runs a command that must succeed; returns its output. */
    static String run(String... command) throws IOException, InterruptedException {
        Result r = exec(List.of(command));
        if (r.exit() != 0) {
            throw new AssertionError(String.join(" ", command) + " exited " + r.exit() + ":\n" + r.output());
        }
        return r.output();
    }

    static int exit(String... command) throws IOException, InterruptedException {
        return exec(List.of(command)).exit();
    }

    /** A raw image of {@code size} bytes: random megabytes alternating with zero megabytes. */
    static Path image(Path dir, String name, int size, long seed) throws IOException {
        Path image = dir.resolve(name);
        byte[] data = new byte[size];
        Random r = new Random(seed);
        byte[] mb = new byte[1 << 20];
        for (int off = 0; off < size; off += mb.length) {
            if ((off / mb.length) % 2 == 0) {
                r.nextBytes(mb);
                System.arraycopy(mb, 0, data, off, Math.min(mb.length, size - off));
            }
        }
        Files.createDirectories(dir);
        Files.write(image, data);
        return image;
    }
}
