package cairn.itests.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One long-lived {@code qemu-io} process on an NBD export, driven command by command
 * over its stdin, so a single NBD connection (and qemu's reconnect logic) spans the
 * whole test. Each command's wall time is what the client waited for that I/O.
 */
public final class QemuIoSession implements AutoCloseable {

    /** The outcome of one qemu-io command. */
    public record Reply(String output, long nanos) {
        public boolean failed() {
            return output.contains("failed") || output.contains("error") || output.contains("Error");
        }
    }

    private static final String PROMPT = "qemu-io> ";

    private final Process process;
    private final OutputStream in;
    private final InputStream out;
    private final StringBuilder pending = new StringBuilder();

    public QemuIoSession(int port, String export, int reconnectDelaySeconds) throws IOException {
        this.process = new ProcessBuilder(List.of("qemu-io", "--image-opts",
                "driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=" + port + ",export=" + export
                        + ",reconnect-delay=" + reconnectDelaySeconds))
                .redirectErrorStream(true).start();
        this.in = process.getOutputStream();
        this.out = process.getInputStream();
        readUntilPrompt();
    }

    /** Runs one command and returns its output once the next prompt appears. */
    public Reply run(String command) throws IOException {
        long t0 = System.nanoTime();
        in.write((command + "\n").getBytes(StandardCharsets.US_ASCII));
        in.flush();
        String output = readUntilPrompt();
        return new Reply(output, System.nanoTime() - t0);
    }

    private String readUntilPrompt() throws IOException {
        byte[] buffer = new byte[8192];
        while (true) {
            int at = pending.indexOf(PROMPT);
            if (at >= 0) {
                String before = pending.substring(0, at);
                pending.delete(0, at + PROMPT.length());
                return before;
            }
            int n = out.read(buffer);
            if (n < 0) {
                throw new IOException("qemu-io exited: " + pending);
            }
            pending.append(new String(buffer, 0, n, StandardCharsets.US_ASCII));
        }
    }

    @Override
    public void close() throws InterruptedException {
        try {
            in.close();
        } catch (IOException e) {
            // the process is going anyway
        }
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
