package cairn.itests.system;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * An interactive {@code qemu-io} on an NBD export, fed commands on its stdin as an operator
 * would type them. qemu-io runs one command at a time and prints each write's
 * acknowledgement ({@code wrote N/N bytes at offset O}) when the server answered it. It
 * runs under {@code stdbuf -i0 -oL}: its stdout is line buffered, so every line arrives as
 * soon as it is printed, and its stdin unbuffered, because qemu-io takes one line per
 * wake-up of stdin and a line left in a stdio buffer would wait there for the next input.
 * A successful {@code flush} prints nothing, so {@link #flush()} follows it with
 * {@code length}, a local command whose answer proves the flush before it completed.
 */
final class QemuIo implements AutoCloseable {

    /** Stands for the end of qemu-io's output in the line queue. */
    private static final String EOF = new String("EOF");
    private static final String PROMPT = "qemu-io> ";

    private final Process process;
    private final OutputStream stdin;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> transcript = new ArrayList<>();
    private final Thread pump;

    private QemuIo(List<String> command) throws IOException {
        List<String> full = new ArrayList<>(List.of("stdbuf", "-i0", "-oL", "qemu-io"));
        full.addAll(command);
        process = new ProcessBuilder(full).redirectErrorStream(true).start();
        stdin = process.getOutputStream();
        pump = new Thread(this::pumpLines, "qemu-io-output");
        pump.setDaemon(true);
        pump.start();
    }

    /** qemu-io on a plaintext {@code nbd://} URI (lab mode). */
    static QemuIo plain(String uri) throws IOException {
        return new QemuIo(List.of("-f", "raw", uri));
    }

    /**
     * qemu-io on a plaintext URI with qemu's write-back cache mode: a write is sent as it
     * is, while qemu-io's default (write-through) follows every write with a FLUSH.
     */
    static QemuIo plainWriteBack(String uri) throws IOException {
        return new QemuIo(List.of("-t", "writeback", "-f", "raw", uri));
    }

    /** qemu-io on an {@code nbds://} URI with the three PEM files in {@code tlsDir}, as the attach call gave them. */
    static QemuIo tls(String uri, Path tlsDir) throws IOException {
        return new QemuIo(tlsArgs(uri, tlsDir));
    }

    /** The qemu arguments that open {@code uri} over TLS with the client certificate in {@code tlsDir}. */
    static List<String> tlsArgs(String uri, Path tlsDir) {
        java.net.URI u = java.net.URI.create(uri);
        return List.of("--object", "tls-creds-x509,id=tls0,dir=" + tlsDir + ",endpoint=client", "--image-opts",
                "driver=nbd,server.type=inet,server.host=" + u.getHost() + ",server.port=" + u.getPort() + ",export="
                        + u.getPath().substring(1) + ",tls-creds=tls0");
    }

    /** Writes the attach answer's TLS PEMs into {@code dir} under the names qemu and libnbd look for. */
    static Path writeTls(JsonNode attachment, Path dir) {
        try {
            Files.createDirectories(dir);
            JsonNode tls = attachment.get("tls");
            Files.writeString(dir.resolve("ca-cert.pem"), tls.get("caCertPem").asText());
            Files.writeString(dir.resolve("client-cert.pem"), tls.get("clientCertPem").asText());
            Files.writeString(dir.resolve("client-key.pem"), tls.get("clientKeyPem").asText());
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void pumpLines() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                while (line.startsWith(PROMPT)) {
                    line = line.substring(PROMPT.length());
                }
                if (!line.isBlank()) {
                    synchronized (transcript) {
                        transcript.add(line);
                    }
                    lines.add(line);
                }
            }
        } catch (IOException e) {
            // the process went away: the end of its output
        } finally {
            lines.add(EOF);
        }
    }

    /** Sends one command line. */
    void send(String command) throws IOException {
        stdin.write((command + "\n").getBytes(StandardCharsets.US_ASCII));
        stdin.flush();
    }

    /** The next output line, or null at the end of the output; fails after {@code timeout}. */
    String nextLine(Duration timeout) throws InterruptedException {
        String line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (line == null) {
            throw new AssertionError("qemu-io printed nothing for " + timeout + "; so far:\n" + transcript());
        }
        return line == EOF ? null : line;
    }

    /**
     * Writes {@code length} bytes of {@code pattern} at {@code offset} and waits for the
     * answer: true when the server acknowledged it, false when qemu-io reports it failed.
     */
    boolean write(long offset, int length, int pattern, boolean fua) throws IOException, InterruptedException {
        send("write " + (fua ? "-f " : "") + "-P " + pattern + " " + offset + " " + length);
        while (true) {
            String line = nextLine(Duration.ofSeconds(30));
            if (line == null) {
                return false;
            }
            if (line.startsWith("wrote " + length + "/" + length + " bytes at offset " + offset)) {
                return true;
            }
            if (line.startsWith("write failed")) {
                return false;
            }
        }
    }

    /** FLUSH, then {@code length} as a marker: true when the flush completed without error. */
    boolean flush(String lengthAnswer) throws IOException, InterruptedException {
        send("flush");
        send("length");
        boolean failed = false;
        while (true) {
            String line = nextLine(Duration.ofSeconds(30));
            if (line == null) {
                return false;
            }
            if (line.startsWith("flush failed")) {
                failed = true;
            } else if (line.equals(lengthAnswer)) {
                return !failed;
            }
        }
    }

    /** {@link #write}, failing the test with qemu-io's transcript when the write was not acknowledged. */
    void mustWrite(long offset, int length, int pattern, boolean fua) throws IOException, InterruptedException {
        if (!write(offset, length, pattern, fua)) {
            throw new AssertionError("write of " + length + " bytes at " + offset + " failed:\n" + transcript());
        }
    }

    /** {@link #flush}, failing the test with qemu-io's transcript when the flush did not complete. */
    void mustFlush(String lengthAnswer) throws IOException, InterruptedException {
        if (!flush(lengthAnswer)) {
            throw new AssertionError("flush failed:\n" + transcript());
        }
    }

    String transcript() {
        synchronized (transcript) {
            return String.join("\n", transcript);
        }
    }

    Process process() {
        return process;
    }

    /** Closes stdin so qemu-io quits by itself, and waits for that. */
    int quit(Duration timeout) throws InterruptedException {
        try {
            stdin.close();
        } catch (IOException e) {
            // already gone
        }
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("qemu-io did not quit:\n" + transcript());
        }
        pump.join(timeout.toMillis());
        return process.exitValue();
    }

    /** SIGKILL, as when the program or its machine dies. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}
