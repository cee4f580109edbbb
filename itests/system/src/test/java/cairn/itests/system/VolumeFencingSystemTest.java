package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.CoreMatchers.not;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;

import cairn.itests.support.ApplianceProcess;

/**
 * Fencing between two real NBD client programs on the real appliance (TLS, as by default).
 * A (qemu-io) attaches, writes and flushes with exactly the URI and PEMs its attach call
 * returned; its attachment then ends in one of the two ways the issue names, and B, with
 * its own credentials, reads everything A flushed while A can neither do I/O nor connect.
 * The lease is short here (DATA/etc/cairn.blockstore.cfg) so a dead writer's lease runs
 * out quickly, and so is the bound on a silent peer (DATA/etc/cairn.nbd.cfg).
 */
public class VolumeFencingSystemTest {

    private static final long LEASE_MILLIS = 3000;
    private static final int SIZE = 8 << 20;
    private static final String LENGTH_ANSWER = "8 MiB";

    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static ApplianceProcess app;
    private static Api api;
    private static Map<String, String> admin;
    private static Map<String, String> operator;

    @BeforeClass
    public static void startAppliance() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        Files.createDirectories(data.resolve("etc"));
        Files.writeString(data.resolve("etc/cairn.blockstore.cfg"), "leaseMillis=" + LEASE_MILLIS + "\n");
        Files.writeString(data.resolve("etc/cairn.nbd.cfg"), "deadPeerSeconds=8\n");
        app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady();
        api = new Api(app.httpUrl());
        admin = Api.basic("admin", app.initialAdminPassword());
        Api.Reply user = api.post("/api/v1/users", admin, Map.of("name", "ops", "password", "a long enough password",
                "role", "operator", "account", "default"));
        assertEquals(user.toString(), 201, user.status());
        operator = Api.basic("ops", "a long enough password");
    }

    @AfterClass
    public static void stopAppliance() {
        if (app != null) {
            app.stop();
        }
    }

    @Test
    public void aStandbyTakesOverFromADeadWriterWhichCanNeverWriteAgain() throws Exception {
        String volumeId = createVolume("fence-dead");
        String attachments = "/api/v1/volumes/" + volumeId + "/attachments";
        JsonNode a = attach(volumeId, "vm-a", 201);
        Path tlsA = QemuIo.writeTls(a, tmp.newFolder("vm-a").toPath());

        byte[] expected = new byte[SIZE];
        try (QemuIo writer = QemuIo.tls(a.get("uri").asText(), tlsA)) {
            writeAndFlush(writer, expected, new Random(1));
            // Were A's machine to die without closing its connection, keepalive probes would
            // close it for A, so the lease could run out: the kernel shows the probe timer.
            // (While a reply is still unacknowledged ss shows the retransmission timer instead.)
            await("A's connection is probed").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                    .until(() -> run(0, "ss", "-tnoH", "state", "established", "( sport = :" + app.port("nbd") + " )"),
                            containsString("timer:(keepalive,"));
            // B waits once A is connected (registered earlier, B would rightly take a volume
            // whose lease ran out before A's program got its connection up)
            Api.Reply standby = api.post("/api/v1/volumes/" + volumeId + "/standbys", operator,
                    Map.of("instanceId", "vm-b"));
            assertEquals(standby.toString(), 201, standby.status());
            // connected, A holds the lease however long it takes: no takeover
            await().during(Duration.ofMillis(LEASE_MILLIS + 1000)).atMost(Duration.ofSeconds(30))
                    .until(() -> "vm-a".equals(attachedInstance(volumeId)));
            writer.kill(); // the program dies; its connection closes with it
            assertEquals("qemu-io died of SIGKILL", 137, writer.process().exitValue());
        }

        await("the standby takes over once A's lease ran out").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100)).until(() -> "vm-b".equals(attachedInstance(volumeId)));
        JsonNode b = attach(volumeId, "vm-b", 200); // B fetches its connection details
        assertTrue("the epoch grew: " + b, b.get("epoch").asLong() > a.get("epoch").asLong());
        assertNotEquals(a.get("uri").asText(), b.get("uri").asText());
        Path tlsB = QemuIo.writeTls(b, tmp.newFolder("vm-b").toPath());
        assertArrayEquals("B reads everything A flushed", expected, readAll(b, tlsB));

        assertRefused(a, tlsA);
        assertArrayEquals("the revived A changed nothing", expected, readAll(b, tlsB));
        Api.Reply renewA = api.post(attachments + "/" + a.get("attachmentId").asText() + "/renew", operator, null);
        assertEquals("A's attachment has ended: " + renewA, 409, renewA.status());

        JsonNode takeover = auditEntry("volume.takeover", volumeId, "vm-b");
        assertEquals("ok", takeover.get("result").asText());
        assertThat(takeover.toString(), containsString("epoch " + b.get("epoch").asLong()));
        JsonNode fence = auditEntry("volume.fence", volumeId, a.get("attachmentId").asText());
        assertThat(fence.toString(), fence.get("detail").asText(), containsString("vm-b"));
        assertEquals("the automatic takeover is the system's", "system", fence.get("actor").asText());
    }

    @Test
    public void anAdminsForcedTakeoverFencesAWriterThatIsStillConnected() throws Exception {
        String volumeId = createVolume("fence-live");
        JsonNode a = attach(volumeId, "vm-c", 201);
        Path tlsA = QemuIo.writeTls(a, tmp.newFolder("vm-c").toPath());
        byte[] expected = new byte[SIZE];
        try (QemuIo writer = QemuIo.tls(a.get("uri").asText(), tlsA)) {
            writeAndFlush(writer, expected, new Random(2));

            Api.Reply refused = api.post("/api/v1/volumes/" + volumeId + "/takeover", operator,
                    Map.of("instanceId", "vm-d"));
            assertEquals("no takeover while A is connected: " + refused, 409, refused.status());
            assertEquals("lease_held", refused.error());

            Api.Reply notAdmin = api.post("/api/v1/volumes/" + volumeId + "/takeover?force=true", operator,
                    Map.of("instanceId", "vm-d"));
            assertEquals("forcing is for admins: " + notAdmin, 403, notAdmin.status());
            assertEquals("vm-c", attachedInstance(volumeId));

            Api.Reply taken = api.post("/api/v1/volumes/" + volumeId + "/takeover?force=true", admin,
                    Map.of("instanceId", "vm-d"));
            assertEquals(taken.toString(), 200, taken.status());
            JsonNode b = taken.json();
            assertTrue("the epoch grew: " + b, b.get("epoch").asLong() > a.get("epoch").asLong());

            // A's qemu-io is still running: its very next write fails and lands nowhere
            boolean written = writer.write(0, 4096, 0xEE, false);
            assertFalse("A's next write fails:\n" + writer.transcript(), written);
            assertTrue("qemu-io is still running", writer.process().isAlive());

            Path tlsB = QemuIo.writeTls(b, tmp.newFolder("vm-d").toPath());
            assertArrayEquals("B reads everything A flushed, and not A's late write", expected, readAll(b, tlsB));
            assertRefused(a, tlsA);
            assertArrayEquals("the reconnecting A changed nothing", expected, readAll(b, tlsB));

            JsonNode fence = auditEntry("volume.fence", volumeId, a.get("attachmentId").asText());
            assertEquals("admin", fence.get("actor").asText());
            assertThat(fence.toString(), fence.get("detail").asText(), containsString("forced takeover of vm-d"));
            JsonNode takeover = auditEntry("volume.takeover", volumeId, "vm-d epoch " + b.get("epoch").asLong()
                    + " (forced)");
            assertEquals("ok", takeover.get("result").asText());
            assertEquals("forbidden", auditEntry("volume.takeover", volumeId, "vm-d (forced)").get("result").asText());
            assertEquals("vm-d", attachedInstance(volumeId));
        }
    }

    private static String createVolume(String name) {
        Api.Reply r = api.post("/api/v1/volumes", operator, Map.of("name", name, "sizeBytes", SIZE));
        assertEquals(r.toString(), 201, r.status());
        return r.json().get("id").asText();
    }

    private static JsonNode attach(String volumeId, String instance, int status) {
        Api.Reply r = api.post("/api/v1/volumes/" + volumeId + "/attachments", operator,
                Map.of("instanceId", instance));
        assertEquals(r.toString(), status, r.status());
        JsonNode a = r.json();
        assertTrue("TLS by default: " + a, a.get("uri").asText().startsWith("nbds://"));
        return a;
    }

    private static String attachedInstance(String volumeId) {
        JsonNode attachment = api.get("/api/v1/volumes/" + volumeId, operator).json().get("attachment");
        return attachment == null || attachment.isNull() ? null : attachment.get("instanceId").asText();
    }

    /** Scattered writes of 4 to 64 KiB, a few with FUA, then a FLUSH; {@code expected} follows along. */
    private static void writeAndFlush(QemuIo writer, byte[] expected, Random random) throws Exception {
        for (int i = 0; i < 24; i++) {
            int length = 4096 * (1 + random.nextInt(16));
            int offset = 4096 * random.nextInt((SIZE - length) / 4096 + 1);
            int pattern = 1 + random.nextInt(255);
            writer.mustWrite(offset, length, pattern, i % 5 == 4);
            Arrays.fill(expected, offset, offset + length, (byte) pattern);
        }
        writer.mustFlush(LENGTH_ANSWER);
    }

    /** The whole volume through nbdcopy with the attachment's URI and PEMs. */
    private static byte[] readAll(JsonNode attachment, Path tls) throws Exception {
        Path copy = Files.createTempFile(tmp.getRoot().toPath(), "volume", ".raw");
        run(0, "nbdcopy", attachment.get("uri").asText() + "?tls-certificates=" + tls, copy.toString());
        byte[] bytes = Files.readAllBytes(copy);
        Files.delete(copy);
        return bytes;
    }

    /** A new program with the fenced attachment's URI and PEMs can neither connect nor write. */
    private static void assertRefused(JsonNode fenced, Path tls) throws Exception {
        String uri = fenced.get("uri").asText();
        run(1, "nbdinfo", uri + "?tls-certificates=" + tls);
        List<String> qemuIo = new ArrayList<>(List.of("qemu-io"));
        qemuIo.addAll(QemuIo.tlsArgs(uri, tls));
        qemuIo.addAll(List.of("-c", "write -P 0x55 0 65536", "-c", "flush"));
        String out = run(1, qemuIo.toArray(String[]::new));
        assertThat(out, not(containsString("wrote")));
    }

    /** The newest audit entry of {@code action} on {@code target} whose detail mentions {@code mention}. */
    private static JsonNode auditEntry(String action, String target, String mention) {
        Api.Reply page = api.get("/api/v1/audit?limit=1000&action=" + action, admin);
        assertEquals(page.toString(), 200, page.status());
        for (JsonNode e : page.json().get("entries")) {
            if (e.get("target").asText().equals(target) && e.get("detail").asText().contains(mention)) {
                return e;
            }
        }
        throw new AssertionError("no " + action + " entry for " + target + " mentioning " + mention + ": " + page);
    }

    /** Runs a client program; {@code expectedExit} 0 needs success, anything else needs a failure. */
    private static String run(int expectedExit, String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(String.join(" ", command) + " still running", p.waitFor(60, TimeUnit.SECONDS));
            if (expectedExit == 0) {
                assertEquals(String.join(" ", command) + ": " + out, 0, p.exitValue());
            } else {
                assertNotEquals(String.join(" ", command) + " must fail: " + out, 0, p.exitValue());
            }
            return out;
        } finally {
            p.destroyForcibly();
        }
    }
}
