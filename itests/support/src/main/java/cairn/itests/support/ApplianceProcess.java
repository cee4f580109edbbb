package cairn.itests.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The real appliance image ({@code appliance-image/target/cairn}) run as a separate
 * process with its own data directory and free loopback ports, as an operator would
 * run it. Its console output is kept in {@code <data>/../console.log} for assertions and
 * for the test report. Close it to stop the process (SIGTERM, then SIGKILL).
 */
public final class ApplianceProcess implements AutoCloseable {

    /** System property naming the image folder; the itests POMs set it. */
    public static final String IMAGE_PROPERTY = "cairn.image";

    private final Path image;
    private final Path data;
    private final Path console;
    private final Map<String, Integer> ports;
    private final List<String> extraArgs;
    private final Map<String, String> env;
    private Process process;

    private ApplianceProcess(Path image, Path data, Map<String, Integer> ports, List<String> extraArgs,
            Map<String, String> env) {
        this.image = image;
        this.data = data;
        this.console = data.resolveSibling(data.getFileName() + "-console.log");
        this.ports = ports;
        this.extraArgs = extraArgs;
        this.env = env;
    }

    /** A new appliance on a fresh data directory under {@code dir}. */
    public static ApplianceProcess create(Path dir) {
        return create(dir.resolve("data"), List.of(), Map.of());
    }

    /** An appliance on the given data directory, with extra {@code bin/cairn run} flags and environment. */
    public static ApplianceProcess create(Path data, List<String> extraArgs, Map<String, String> env) {
        Map<String, Integer> ports = new HashMap<>();
        String[] names = { "http", "ssh", "nbd", "peer" };
        int[] free = freePorts(names.length);
        for (int i = 0; i < names.length; i++) {
            ports.put(names[i], free[i]);
        }
        return new ApplianceProcess(image(), data, ports, List.copyOf(extraArgs), Map.copyOf(env));
    }

    public static Path image() {
        String image = System.getProperty(IMAGE_PROPERTY);
        if (image == null) {
            throw new IllegalStateException("system property " + IMAGE_PROPERTY + " is not set");
        }
        Path p = Path.of(image);
        if (!Files.isExecutable(p.resolve("bin/cairn"))) {
            throw new IllegalStateException(p + " holds no built image; run the build first");
        }
        return p;
    }

    /**
     * {@code n} distinct free ports: every socket stays open until all are taken, so the
     * kernel cannot hand out one port twice (taken one at a time, two sometimes matched and
     * the appliance refused to start).
     */
    public static int[] freePorts(int n) {
        List<ServerSocket> open = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                open.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket s : open) {
                try {
                    s.close();
                } catch (IOException e) {
                    // closing a listener that never accepted: nothing to lose
                }
            }
        }
    }

    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The command line that {@link #start()} runs. */
    public List<String> command() {
        List<String> cmd = new ArrayList<>(List.of(image.resolve("bin/cairn").toString(), "run",
                "--data", data.toString(), "--bind", "127.0.0.1",
                "--http-port", Integer.toString(port("http")), "--ssh-port", Integer.toString(port("ssh")),
                "--nbd-port", Integer.toString(port("nbd")), "--peer-port", Integer.toString(port("peer"))));
        cmd.addAll(extraArgs);
        return cmd;
    }

    /** Starts the process without waiting for readiness. */
    public ApplianceProcess start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("already running");
        }
        try {
            Files.createDirectories(data.getParent());
            ProcessBuilder pb = new ProcessBuilder(command()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(console.toFile()));
            pb.environment().putAll(env);
            process = pb.start();
            Process started = process;
            // a safety net: a test JVM that dies never leaves an appliance behind
            Runtime.getRuntime().addShutdownHook(new Thread(started::destroyForcibly, "appliance-reaper"));
            return this;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts and waits until {@code /health} answers 200. */
    public ApplianceProcess startAndAwaitReady() {
        start();
        return awaitReady();
    }

    public ApplianceProcess awaitReady() {
        await("appliance ready (" + console + ")").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    if (!process.isAlive()) {
                        throw new AssertionError("appliance exited with " + process.exitValue() + ":\n" + consoleText());
                    }
                    return health().statusCode() == 200;
                });
        return this;
    }

    /** GET /health; a connection failure answers 0. */
    public HttpResponse<String> health() {
        return get("/health");
    }

    public HttpResponse<String> get(String path) {
        HttpClient client = httpClient();
        try {
            return client.send(HttpRequest.newBuilder(URI.create(httpUrl() + path)).timeout(Duration.ofSeconds(10))
                    .GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            return new FailedResponse(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The base URL of the web port: https unless the appliance is bound to a loopback address. */
    public String httpUrl() {
        return (tls() ? "https" : "http") + "://127.0.0.1:" + port("http");
    }

    /** True when a later {@code --bind} flag names a non-loopback address, so the web port serves HTTPS. */
    public boolean tls() {
        int i = extraArgs.lastIndexOf("--bind");
        if (i < 0 || i + 1 >= extraArgs.size()) {
            return false;
        }
        try {
            return !java.net.InetAddress.getByName(extraArgs.get(i + 1)).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /**
     * An HTTP client for this appliance. Over HTTPS it trusts exactly the certificate the
     * appliance generated at first boot (DATA/tls/http.p12), with host name checks on.
     */
    public HttpClient httpClient() {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2));
        if (tls() && Files.exists(data.resolve("tls/http.p12"))) {
            builder.sslContext(trustingOwnCertificate());
        }
        return builder.build();
    }

    /** An SSL context whose only trust anchor is the appliance's own web certificate. */
    public javax.net.ssl.SSLContext trustingOwnCertificate() {
        try {
            char[] password = Files.readString(data.resolve("tls/http.p12.pass")).strip().toCharArray();
            java.security.KeyStore own = java.security.KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(data.resolve("tls/http.p12"))) {
                own.load(in, password);
            }
            java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("cairn", own.getCertificate("cairn"));
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory
                    .getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    public int port(String name) {
        return ports.get(name);
    }

    public Path data() {
        return data;
    }

    public Process process() {
        return process;
    }

    public String consoleText() {
        try {
            return Files.exists(console) ? Files.readString(console, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "(console unreadable: " + e + ")";
        }
    }

    /**
     * The running appliance's threads and their stacks ({@code jcmd PID Thread.print}), for
     * a failure report when something hangs; a line saying why when it cannot be taken.
     */
    public String threadDump() {
        if (process == null || !process.isAlive()) {
            return "(no thread dump: the appliance is not running)";
        }
        try {
            Process jcmd = new ProcessBuilder("jcmd", Long.toString(process.pid()), "Thread.print")
                    .redirectErrorStream(true).start();
            jcmd.getOutputStream().close();
            String text = new String(jcmd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!jcmd.waitFor(30, TimeUnit.SECONDS)) {
                jcmd.destroyForcibly();
            }
            return text;
        } catch (IOException e) {
            return "(no thread dump: " + e + ")";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "(no thread dump: interrupted)";
        }
    }

    /** The password written at first boot, without its newline. */
    public String initialAdminPassword() {
        try {
            return Files.readString(data.resolve("initial-admin-password"), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits for the process to exit by itself and returns its exit code. */
    public int awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new AssertionError("appliance still running after " + timeout + ":\n" + consoleText());
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** SIGTERM and wait for a clean stop; returns the exit code. */
    public int stop() {
        if (process == null) {
            return -1;
        }
        process.destroy();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            return -1;
        }
    }

    /** SIGKILL: a crash as the appliance would see it. */
    public void kill() {
        if (process != null) {
            try {
                process.destroyForcibly().waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        stop();
    }

    /** Stands for a request that never reached the server. */
    private record FailedResponse(IOException cause) implements HttpResponse<String> {
        @Override public int statusCode() { return 0; }
        @Override public HttpRequest request() { return null; }
        @Override public java.util.Optional<HttpResponse<String>> previousResponse() { return java.util.Optional.empty(); }
        @Override public java.net.http.HttpHeaders headers() { return java.net.http.HttpHeaders.of(Map.of(), (a, b) -> true); }
        @Override public String body() { return cause.toString(); }
        @Override public java.util.Optional<javax.net.ssl.SSLSession> sslSession() { return java.util.Optional.empty(); }
        @Override public URI uri() { return null; }
        @Override public HttpClient.Version version() { return HttpClient.Version.HTTP_1_1; }
    }
}
