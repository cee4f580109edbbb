package cairn.launcher;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Security;
import java.util.List;
import java.util.Map;
import java.util.Random;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.TrustManagerFactory;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The provider changes the whole JVM, so one test walks through the switch in order:
 * off, on, on again.
 */
public class NativeCryptoTest {

    private static final String ACCP = "AmazonCorrettoCryptoProvider";

    @Rule
    public TemporaryFolder folder = new TemporaryFolder();

    @Test
    public void theNativeProviderServesAesGcmAndTlsUnlessTurnedOff() throws Exception {
        byte[] key = new byte[16];
        byte[] iv = new byte[12];
        byte[] plain = new byte[100_000];
        new Random(7).nextBytes(plain);
        byte[] jdkSealed = seal(key, iv, plain);

        System.setProperty(NativeCrypto.SETTING, "false");
        try {
            assertEquals("crypto: JDK providers (cairn.crypto.native=false)", NativeCrypto.install());
            assertNull("turned off, nothing is installed", Security.getProvider(ACCP));
        } finally {
            System.clearProperty(NativeCrypto.SETTING);
        }

        String line = NativeCrypto.install();
        assertTrue(line, line.startsWith("crypto: " + ACCP + " 2."));
        assertEquals("first among the providers", ACCP, Security.getProviders()[0].getName());
        assertEquals(ACCP, Cipher.getInstance("AES/GCM/NoPadding").getProvider().getName());
        assertArrayEquals("AWS-LC seals exactly as the JDK does", jdkSealed, seal(key, iv, plain));
        assertTrue(NativeCrypto.install().endsWith("(already installed)"));
        assertEquals("installed once", 1, List.of(Security.getProviders()).stream()
                .filter(p -> p.getName().equals(ACCP)).count());

        // a TLS 1.3 session with the appliance's own kind of certificate carries data both ways
        Options options = Options.parse(List.of("--bind", "127.0.0.1"), Map.of());
        TlsCertificate certificate = TlsCertificate.ensure(folder.newFolder("tls").toPath(), options);
        SSLContext context = context(certificate.keystore(), certificate.password().toCharArray());
        SSLEngine server = context.createSSLEngine();
        server.setUseClientMode(false);
        SSLEngine client = context.createSSLEngine("localhost", 1);
        client.setUseClientMode(true);
        client.setEnabledProtocols(new String[] { "TLSv1.3" });
        byte[] toServer = exchange(client, server, plain);
        assertArrayEquals(plain, toServer);
        assertArrayEquals(plain, exchange(server, client, plain));
        assertTrue(client.getSession().getCipherSuite(), client.getSession().getCipherSuite().contains("GCM"));
    }

    private static byte[] seal(byte[] key, byte[] iv, byte[] plain) throws Exception {
        Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, iv));
        return c.doFinal(plain);
    }

    private static SSLContext context(Path keystore, char[] password) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            ks.load(in, password);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, password);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return context;
    }

    /**
     * Runs both engines in memory until {@code from} has sent {@code data} and {@code to}
     * has received all of it; returns what {@code to} received.
     */
    private static byte[] exchange(SSLEngine from, SSLEngine to, byte[] data) throws Exception {
        int packet = from.getSession().getPacketBufferSize();
        ByteBuffer out = ByteBuffer.wrap(data);
        ByteBuffer fromNet = ByteBuffer.allocate(packet);
        ByteBuffer toNet = ByteBuffer.allocate(packet);
        ByteBuffer received = ByteBuffer.allocate(data.length + to.getSession().getApplicationBufferSize());
        ByteBuffer back = ByteBuffer.allocate(from.getSession().getApplicationBufferSize());
        for (int round = 0; received.position() < data.length; round++) {
            assertTrue("no progress after " + round + " rounds", round < 10_000);
            fromNet.clear();
            SSLEngineResult r = from.wrap(out, fromNet);
            run(from, r);
            fromNet.flip();
            while (fromNet.hasRemaining()) {
                SSLEngineResult u = to.unwrap(fromNet, received);
                run(to, u);
                if (u.bytesConsumed() == 0) {
                    break;
                }
            }
            toNet.clear();
            run(to, to.wrap(ByteBuffer.allocate(0), toNet));
            toNet.flip();
            while (toNet.hasRemaining()) {
                SSLEngineResult u = from.unwrap(toNet, back);
                run(from, u);
                if (u.bytesConsumed() == 0) {
                    break;
                }
            }
        }
        return java.util.Arrays.copyOf(received.array(), received.position());
    }

    private static void run(SSLEngine engine, SSLEngineResult result) {
        if (result.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
            Runnable task;
            while ((task = engine.getDelegatedTask()) != null) {
                task.run();
            }
        }
    }
}
