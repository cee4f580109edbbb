package cairn.itests.system;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;

/** Block storage in the real appliance process: first boot creates the CA, a restart adopts it. */
public class BlockstoreSystemTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void firstBootCreatesTheFleetCaAndARestartAdoptsIt() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        String caPem;
        String serverPem;
        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            JsonNode health = new ObjectMapper().readTree(app.health().body());
            boolean blockstoreOk = false;
            for (JsonNode check : health.get("checks")) {
                if (check.get("name").asText().equals("blockstore")) {
                    blockstoreOk = check.get("ok").asBoolean();
                }
            }
            assertTrue("health has a passing blockstore check: " + health, blockstoreOk);
            Path tls = data.resolve("tls");
            assertEquals("rw-------", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(tls.resolve("fleet-ca-key.pem"))));
            assertEquals("rw-------", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(tls.resolve("nbd-server-key.pem"))));
            assertTrue(Files.isDirectory(data.resolve("volumes")));
            caPem = Files.readString(tls.resolve("fleet-ca.pem"));
            serverPem = Files.readString(tls.resolve("nbd-server.pem"));
            X509Certificate ca = certificate(caPem);
            X509Certificate server = certificate(serverPem);
            server.verify(ca.getPublicKey());
            boolean namesLoopback = server.getSubjectAlternativeNames().stream()
                    .anyMatch(n -> "127.0.0.1".equals(n.get(1)));
            assertTrue("the server certificate names the bind address", namesLoopback);
            assertEquals(0, app.stop());
        }
        try (ApplianceProcess again = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertEquals("the CA is created once", caPem, Files.readString(data.resolve("tls/fleet-ca.pem")));
            assertEquals("an unchanged host keeps its certificate", serverPem,
                    Files.readString(data.resolve("tls/nbd-server.pem")));
        }
    }

    private static X509Certificate certificate(String pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes()));
    }
}
