package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;

/** The NBD server in the real appliance process: listeners, health, TLS by default, lab mode by configuration. */
public class NbdProcessTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** Sends NBD_OPT_GO for an export nobody has; returns the option reply type. */
    private static int goReply(int port, String export) throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            assertEquals("NBDMAGIC", 0x4e42444d41474943L, in.readLong());
            assertEquals("IHAVEOPT", 0x49484156454F5054L, in.readLong());
            in.readUnsignedShort();
            out.writeInt(3);
            byte[] name = export.getBytes();
            out.writeLong(0x49484156454F5054L);
            out.writeInt(7);
            out.writeInt(4 + name.length + 2);
            out.writeInt(name.length);
            out.write(name);
            out.writeShort(0);
            out.flush();
            in.readLong();
            in.readInt();
            return in.readInt();
        }
    }

    @Test
    public void listensOnTcpAndTheUnixSocketWithTlsByDefault() throws Exception {
        Path socket;
        try (ApplianceProcess app = ApplianceProcess.create(tmp.getRoot().toPath()).startAndAwaitReady()) {
            JsonNode health = new ObjectMapper().readTree(app.health().body());
            boolean nbdOk = false;
            for (JsonNode check : health.get("checks")) {
                nbdOk |= check.get("name").asText().equals("nbd") && check.get("ok").asBoolean();
            }
            assertTrue(health.toString(), nbdOk);
            assertEquals("TCP requires TLS first: NBD_REP_ERR_TLS_REQD", 0x80000005, goReply(app.port("nbd"), "x"));
            socket = app.data().resolve("run/nbd.sock");
            assertTrue(Files.exists(socket));
            assertEquals(0, app.stop());
        }
        assertFalse("the socket file is removed on an orderly stop", Files.exists(socket));
    }

    @Test
    public void labModeFromTheOperatorsConfigurationServesPlaintextOnLoopback() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        Files.createDirectories(data.resolve("etc"));
        Files.writeString(data.resolve("etc/cairn.nbd.cfg"), "tls=off\n");
        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
                try {
                    // plaintext negotiation goes on: an unknown name is simply unknown (NBD_REP_ERR_UNKNOWN)
                    return goReply(app.port("nbd"), "no-such-export") == 0x80000006;
                } catch (java.io.IOException e) {
                    return false;
                }
            });
        }
    }
}
