package cairn.nbd.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameter;
import org.junit.runners.Parameterized.Parameters;

/**
 * STARTTLS with each server engine (BoringSSL, the JDK's) against gnutls in the real
 * clients (nbdinfo, qemu-img), client certificate required. A test CA made with the JDK's
 * keytool signs the server's and the client's certificates (RSA: its PKCS#8 keys load in
 * gnutls as they are); a second CA signs a stranger's.
 */
@RunWith(Parameterized.class)
public class TlsRealClientsTest {

    @Parameters(name = "{0}")
    public static List<String> engines() {
        return List.of("openssl", "jdk");
    }

    @Parameter
    public String engine;

    static final int SIZE = 8 << 20;
    static final String PASS = "changeit";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @org.junit.ClassRule
    public static TemporaryFolder certificates = new TemporaryFolder();

    static Path dir;
    static SSLContext context;
    static PrivateKey serverKey;
    static List<X509Certificate> serverChain;
    static X509Certificate caCertificate;
    NbdServer server;
    FileCatalog catalog;

    /** One CA and two certificates for the whole class: keytool runs a JVM per step. */
    @org.junit.BeforeClass
    public static void makeCertificates() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/nbdinfo")) && Files.isExecutable(Path.of("/usr/bin/qemu-img")));
        dir = certificates.getRoot().toPath();
        keytool("-genkeypair", "-keystore", "ca.p12", "-alias", "ca", "-keyalg", "RSA", "-keysize", "2048",
                "-dname", "CN=test-ca", "-ext", "bc:c", "-validity", "2");
        keytool("-exportcert", "-keystore", "ca.p12", "-alias", "ca", "-rfc", "-file", "ca-cert.pem");
        keytool("-importcert", "-keystore", "trust.p12", "-alias", "ca", "-file", "ca-cert.pem", "-noprompt");
        issue("server", "CN=127.0.0.1", "-ext", "san=ip:127.0.0.1,dns:localhost", "-ext", "eku=serverAuth");
        issue("client", "CN=client-1", "-ext", "eku=clientAuth");
        Path certs = Files.createDirectories(dir.resolve("certs"));
        Files.copy(dir.resolve("ca-cert.pem"), certs.resolve("ca-cert.pem"));
        Files.copy(dir.resolve("client.pem"), certs.resolve("client-cert.pem"));
        Files.writeString(certs.resolve("client-key.pem"), privateKeyPem("client"));
        Path caOnly = Files.createDirectories(dir.resolve("ca-only"));
        Files.copy(dir.resolve("ca-cert.pem"), caOnly.resolve("ca-cert.pem"));
        // a client certificate from another CA, presented with the right CA to check the server
        keytool("-genkeypair", "-keystore", "other-ca.p12", "-alias", "other-ca", "-keyalg", "RSA", "-keysize", "2048",
                "-dname", "CN=other-ca", "-ext", "bc:c", "-validity", "2");
        keytool("-genkeypair", "-keystore", "stranger.p12", "-alias", "stranger", "-keyalg", "RSA", "-keysize",
                "2048", "-dname", "CN=client-1", "-validity", "2");
        keytool("-certreq", "-keystore", "stranger.p12", "-alias", "stranger", "-file", "stranger.csr");
        keytool("-gencert", "-keystore", "other-ca.p12", "-alias", "other-ca", "-infile", "stranger.csr", "-outfile",
                "stranger.pem", "-rfc", "-validity", "2", "-ext", "eku=clientAuth");
        Path stranger = Files.createDirectories(dir.resolve("stranger"));
        Files.copy(dir.resolve("ca-cert.pem"), stranger.resolve("ca-cert.pem"));
        Files.copy(dir.resolve("stranger.pem"), stranger.resolve("client-cert.pem"));
        Files.writeString(stranger.resolve("client-key.pem"), privateKeyPem("stranger"));

        KeyStore keys = load("server.p12");
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, PASS.toCharArray());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(load("trust.p12"));
        context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        serverKey = (PrivateKey) keys.getKey("server", PASS.toCharArray());
        serverChain = java.util.Arrays.stream(keys.getCertificateChain("server")).map(c -> (X509Certificate) c)
                .toList();
        caCertificate = (X509Certificate) load("trust.p12").getCertificate("ca");
    }

    TlsProvider provider() throws Exception {
        if (engine.equals("jdk")) {
            return new JdkTls(context);
        }
        assertTrue("BoringSSL loads here: " + OpenSslTls.unavailabilityCause(), OpenSslTls.available());
        return new OpenSslTls(serverKey, serverChain, caCertificate);
    }

    @Before
    public void start() throws Exception {
        start(Limits.defaultTlsWriteHandoff());
    }

    private void start(boolean tlsWriteHandoff) throws Exception {
        Path volume = tmp.getRoot().toPath().resolve("vol");
        Files.write(volume, new byte[SIZE]);
        catalog = new FileCatalog();
        catalog.files.put("tls-export", volume);
        server = new NbdServer(new NbdServer.Settings(new InetSocketAddress("127.0.0.1", 0), null, provider(),
                new Limits(1, 4096, 32 << 20, 4, 64, 64 << 20, Limits.DEFAULT_INLINE, tlsWriteHandoff), 10000, 64),
                catalog, new ServerState());
        server.start();
    }

    @After
    public void stop() {
        if (server != null) {
            server.stop(1000);
        }
    }

    private static void issue(String alias, String dname, String... ext) throws Exception {
        keytool("-genkeypair", "-keystore", alias + ".p12", "-alias", alias, "-keyalg", "RSA", "-keysize", "2048",
                "-dname", dname, "-validity", "2");
        keytool("-certreq", "-keystore", alias + ".p12", "-alias", alias, "-file", alias + ".csr");
        List<String> gencert = new java.util.ArrayList<>(List.of("-gencert", "-keystore", "ca.p12", "-alias", "ca",
                "-infile", alias + ".csr", "-outfile", alias + ".pem", "-rfc", "-validity", "2"));
        gencert.addAll(List.of(ext));
        keytool(gencert.toArray(String[]::new));
        keytool("-importcert", "-keystore", alias + ".p12", "-alias", "ca", "-file", "ca-cert.pem", "-noprompt");
        keytool("-importcert", "-keystore", alias + ".p12", "-alias", alias, "-file", alias + ".pem", "-noprompt");
    }

    private static KeyStore load(String file) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(dir.resolve(file))) {
            ks.load(in, PASS.toCharArray());
        }
        return ks;
    }

    private static String privateKeyPem(String alias) throws Exception {
        PrivateKey key = (PrivateKey) load(alias + ".p12").getKey(alias, PASS.toCharArray());
        return "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        cmd.addAll(List.of("-storepass", PASS, "-storetype", "PKCS12"));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(String.join(" ", cmd) + "\n" + out, 0, p.exitValue());
    }

    private RealClientsTestRun run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new RealClientsTestRun(p.exitValue(), out);
    }

    record RealClientsTestRun(int exit, String output) {
    }

    private String uri(String certs) throws IOException {
        return "nbds://127.0.0.1:" + server.port() + "/tls-export?tls-certificates=" + dir.resolve(certs);
    }

    @Test
    public void nbdinfoWithAClientCertificate() throws Exception {
        RealClientsTestRun r = run("nbdinfo", "--json", uri("certs"));
        assertEquals(r.output(), 0, r.exit());
        assertTrue(r.output(), r.output().contains("\"TLS\": true"));
        assertTrue(r.output(), r.output().contains("\"export-size\": " + SIZE));
        String suite = catalog.peers.get("tls-export").cipherSuite();
        if (engine.equals("jdk")) {
            assertEquals("the JDK engine's choice: AES-128-GCM, its fastest cipher", "TLS_AES_128_GCM_SHA256", suite);
        } else {
            // BoringSSL takes AES-GCM on a CPU with AES instructions, in the client's order (gnutls: 256 first)
            assertTrue(suite, suite.equals("TLS_AES_256_GCM_SHA384") || suite.equals("TLS_AES_128_GCM_SHA256"));
        }
        // nbdcopy checks the TLS shutdown: the server must end with close_notify only
        RealClientsTestRun copy = run("nbdcopy", uri("certs"), dir.resolve("copy.raw").toString());
        assertEquals(copy.output(), 0, copy.exit());
    }

    private static final String QEMU_TLS = "tls-creds-x509,id=tls0,dir=%s,endpoint=client";

    private String qemuTarget() throws IOException {
        return "driver=nbd,host=127.0.0.1,port=" + server.port() + ",export=tls-export,tls-creds=tls0";
    }

    /** Writes a random image of the export's size to {@code name} and qemu-img converts it onto the export. */
    private byte[] convertRandomImage(String name, long seed) throws Exception {
        byte[] data = new byte[SIZE];
        new java.util.Random(seed).nextBytes(data);
        Files.write(dir.resolve(name), data);
        RealClientsTestRun convert = run("qemu-img", "convert", "-n", "--object",
                String.format(QEMU_TLS, dir.resolve("certs")), "-f", "raw", dir.resolve(name).toString(),
                "--target-image-opts", qemuTarget());
        assertEquals(convert.output(), 0, convert.exit());
        return data;
    }

    @Test
    public void qemuImgWritesAndComparesOverTls() throws Exception {
        convertRandomImage("image.raw", 3);
        RealClientsTestRun compare = run("qemu-img", "compare", "--object", String.format(QEMU_TLS, dir.resolve("certs")),
                "--image-opts", "driver=raw,file.driver=file,file.filename=" + dir.resolve("image.raw"), qemuTarget());
        assertEquals(compare.output(), 0, compare.exit());
    }

    private RealClientsTestRun qemuIo(String... commands) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("timeout", "60", "qemu-io", "--object",
                String.format(QEMU_TLS, dir.resolve("certs")), "--image-opts", qemuTarget()));
        for (String c : commands) {
            command.add("-c");
            command.add(c);
        }
        return run(command.toArray(String[]::new));
    }

    /**
     * Large READs of cached data over TLS are read and sent in pieces of a few records. Every
     * byte arrives; a read error on the first piece fails that request (the connection reads
     * on), one on a later piece, after part of the reply left, ends that connection; data not
     * in the cache is read whole first, so its error fails only the request; the next client
     * is served.
     */
    @Test
    public void largeReadsLeaveInPiecesAndAReadErrorFailsOnlyWhatItMust() throws Exception {
        byte[] data = convertRandomImage("pieces.raw", 11);
        RealClientsTestRun copy = run("nbdcopy", "--request-size=" + (1 << 20), uri("certs"),
                dir.resolve("pieces-back.raw").toString());
        assertEquals(copy.output(), 0, copy.exit());
        assertArrayEquals(data, Files.readAllBytes(dir.resolve("pieces-back.raw")));

        int half = 1 << 19;
        catalog.unreadableFrom = SIZE - half;
        RealClientsTestRun first = qemuIo("read " + (SIZE - half) + " 512k", "read 0 64k");
        assertTrue(first.output(), first.output().contains("read failed: Input/output error"));
        assertTrue("the same connection reads on: " + first.output(),
                first.output().contains("read 65536/65536 bytes at offset 0"));
        RealClientsTestRun later = qemuIo("read " + (SIZE - 2 * half) + " 1M", "read 0 64k");
        assertTrue(later.output(), later.output().contains("read failed"));
        assertFalse("the connection ended with the cut reply: " + later.output(),
                later.output().contains("read 65536/65536 bytes at offset 0"));
        // data not in the page cache (no mapping offered) is read whole before the reply starts
        catalog.offerMapped = false;
        RealClientsTestRun uncached = qemuIo("read " + (SIZE - 2 * half) + " 1M", "read 0 64k");
        assertTrue(uncached.output(), uncached.output().contains("read failed: Input/output error"));
        assertTrue("read whole first, so the connection reads on: " + uncached.output(),
                uncached.output().contains("read 65536/65536 bytes at offset 0"));
        catalog.offerMapped = true;

        catalog.unreadableFrom = Long.MAX_VALUE;
        RealClientsTestRun after = qemuIo("read 0 1M");
        assertEquals("the server still serves: " + after.output(), 0, after.exit());
        assertTrue(after.output(), after.output().contains("read 1048576/1048576 bytes at offset 0"));
    }

    /**
     * Large TLS WRITEs go to the workers only with the handoff on; either way every byte lands
     * (qemu-img writes the image in requests far above the inline bound, then compares it).
     */
    @Test
    public void largeWritesRunWhereTheHandoffSettingSays() throws Exception {
        for (boolean handoff : new boolean[] { false, true }) {
            stop();
            start(handoff);
            byte[] data = convertRandomImage("handoff-" + handoff + ".raw", handoff ? 5 : 7);
            assertArrayEquals("handoff " + handoff, data, Files.readAllBytes(tmp.getRoot().toPath().resolve("vol")));
            java.util.Set<String> writers = catalog.opened.get("tls-export").largeWriters;
            assertFalse("large writes were made", writers.isEmpty());
            for (String thread : writers) {
                // a connection's thread is cairn-nbd-<id>, its workers cairn-nbd-<id>-w<n>
                assertEquals("handoff " + handoff + ": " + writers, handoff, thread.matches("cairn-nbd-.*-w\\d+"));
            }
        }
    }

    @Test
    public void aClientWithoutACertificateIsRefused() throws Exception {
        RealClientsTestRun r = run("nbdinfo", uri("ca-only"));
        assertNotEquals(r.output(), 0, r.exit());
        RealClientsTestRun plain = run("nbdinfo", "nbd://127.0.0.1:" + server.port() + "/tls-export");
        assertNotEquals(plain.output(), 0, plain.exit());
        RealClientsTestRun stranger = run("nbdinfo", uri("stranger"));
        assertNotEquals("a certificate from another CA: " + stranger.output(), 0, stranger.exit());
        assertEquals("no export was opened", 0, catalog.open.get());
    }
}
