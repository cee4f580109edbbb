package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;

import cairn.itests.support.ApplianceProcess;

/**
 * {@code /api/v1/volumes} over real HTTP against the real appliance process, and the
 * connection details it hands out used by real NBD clients (nbdinfo, qemu-img) exactly as
 * returned: the URI and the three TLS files.
 */
public class VolumesApiTest {

    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static final String PASSWORD = "a long enough password";
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static ApplianceProcess app;
    private static Api api;
    private static Map<String, String> admin;
    private static Map<String, String> operator;
    private static Map<String, String> viewer;
    private static Map<String, String> otherOperator;

    @BeforeClass
    public static void startAppliance() {
        app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"), List.of(), Map.of())
                .startAndAwaitReady();
        api = new Api(app.httpUrl());
        admin = Api.basic("admin", app.initialAdminPassword());
        operator = user("ops", "operator", "default");
        viewer = user("watcher", "viewer", "default");
        otherOperator = user("stranger", "operator", "other");
    }

    @AfterClass
    public static void stopAppliance() {
        if (app != null) {
            app.stop();
        }
    }

    private static Map<String, String> user(String name, String role, String account) {
        Api.Reply r = api.post("/api/v1/users", admin,
                Map.of("name", name, "password", PASSWORD, "role", role, "account", account));
        assertEquals(r.toString(), 201, r.status());
        return Api.basic(name, PASSWORD);
    }

    private static JsonNode create(Map<String, String> who, String name, long size) {
        Api.Reply r = api.post("/api/v1/volumes", who, Map.of("name", name, "sizeBytes", size));
        assertEquals(r.toString(), 201, r.status());
        return r.json();
    }

    private static String newName() {
        return "vol" + NAMES.incrementAndGet();
    }

    @Test
    public void createListDescribeGrowAndDelete() {
        String name = newName();
        JsonNode v = create(operator, name, 8 << 20);
        String id = v.get("id").asText();
        assertTrue(id, id.startsWith("vol-"));
        assertEquals(name, v.get("name").asText());
        assertEquals(8 << 20, v.get("sizeBytes").asLong());
        assertEquals("available", v.get("state").asText());
        assertEquals("the caller's account", "default", v.get("account").asText());
        assertTrue(v.get("attachment").isNull());

        Api.Reply list = api.get("/api/v1/volumes", viewer);
        assertEquals(list.toString(), 200, list.status());
        assertTrue("a viewer of the account sees it: " + list, ids(list.json()).contains(id));

        Api.Reply one = api.get("/api/v1/volumes/" + id, viewer);
        assertEquals(one.toString(), 200, one.status());
        assertEquals(name, one.json().get("name").asText());

        Api.Reply grown = api.send("PATCH", "/api/v1/volumes/" + id, operator, Map.of("sizeBytes", 16 << 20),
                "application/json");
        assertEquals(grown.toString(), 200, grown.status());
        assertEquals(16 << 20, grown.json().get("sizeBytes").asLong());
        Api.Reply shrink = api.send("PATCH", "/api/v1/volumes/" + id, operator, Map.of("sizeBytes", 4 << 20),
                "application/json");
        assertEquals(shrink.toString(), 409, shrink.status());
        assertEquals("size_shrink", shrink.error());
        assertEquals(16 << 20, api.get("/api/v1/volumes/" + id, viewer).json().get("sizeBytes").asLong());

        assertEquals("a viewer only reads", 403, api.delete("/api/v1/volumes/" + id, viewer).status());
        assertEquals(403, api.post("/api/v1/volumes", viewer, Map.of("name", newName(), "sizeBytes", 4096)).status());
        Api.Reply deleted = api.delete("/api/v1/volumes/" + id, operator);
        assertEquals(deleted.toString(), 204, deleted.status());
        assertEquals(404, api.get("/api/v1/volumes/" + id, operator).status());
        assertFalse(ids(api.get("/api/v1/volumes", admin).json()).contains(id));
    }

    @Test
    public void badInputNamesTheFieldAndCreatesNothing() {
        int before = api.get("/api/v1/volumes", admin).json().size();
        String name = newName();
        Api.Reply unaligned = api.post("/api/v1/volumes", operator, Map.of("name", name, "sizeBytes", 5000));
        assertEquals(unaligned.toString(), 400, unaligned.status());
        assertEquals("sizeBytes", unaligned.json().get("field").asText());
        assertThat(unaligned.json().get("message").asText(), containsString("4096"));
        Api.Reply missing = api.post("/api/v1/volumes", operator, Map.of("name", name));
        assertEquals(missing.toString(), 400, missing.status());
        assertEquals("sizeBytes", missing.json().get("field").asText());
        Api.Reply badName = api.post("/api/v1/volumes", operator, Map.of("name", "has space", "sizeBytes", 4096));
        assertEquals(badName.toString(), 400, badName.status());
        assertEquals("name", badName.json().get("field").asText());
        Api.Reply wrongType = api.post("/api/v1/volumes", operator, Map.of("name", name, "sizeBytes", "big"));
        assertEquals(wrongType.toString(), 400, wrongType.status());
        assertEquals("sizeBytes", wrongType.json().get("field").asText());
        Api.Reply unknown = api.post("/api/v1/volumes", operator, Map.of("name", name, "sizeBytes", 4096, "x", 1));
        assertEquals(unknown.toString(), 400, unknown.status());
        assertEquals(before, api.get("/api/v1/volumes", admin).json().size());

        String id = create(operator, name, 4096).get("id").asText();
        Api.Reply badGrow = api.send("PATCH", "/api/v1/volumes/" + id, operator, Map.of("sizeBytes", 4097),
                "application/json");
        assertEquals(badGrow.toString(), 400, badGrow.status());
        assertEquals("sizeBytes", badGrow.json().get("field").asText());
        Api.Reply badInstance = api.post("/api/v1/volumes/" + id + "/attachments", operator,
                Map.of("instanceId", "no/slashes"));
        assertEquals(badInstance.toString(), 400, badInstance.status());
        assertEquals("instanceId", badInstance.json().get("field").asText());
        assertEquals("available", api.get("/api/v1/volumes/" + id, operator).json().get("state").asText());
        assertEquals(204, api.delete("/api/v1/volumes/" + id, operator).status());
    }

    @Test
    public void anotherAccountsOperatorSeesNothing() {
        String id = create(operator, newName(), 4096).get("id").asText();
        assertEquals(404, api.get("/api/v1/volumes/" + id, otherOperator).status());
        assertEquals(404, api.delete("/api/v1/volumes/" + id, otherOperator).status());
        assertEquals(404, api.send("PATCH", "/api/v1/volumes/" + id, otherOperator, Map.of("sizeBytes", 8192),
                "application/json").status());
        assertEquals(404, api.post("/api/v1/volumes/" + id + "/attachments", otherOperator,
                Map.of("instanceId", "thief")).status());
        assertFalse(ids(api.get("/api/v1/volumes", otherOperator).json()).contains(id));
        JsonNode own = create(otherOperator, newName(), 4096);
        assertEquals("other", own.get("account").asText());
        assertTrue("an admin sees every account", ids(api.get("/api/v1/volumes", admin).json())
                .containsAll(List.of(id, own.get("id").asText())));
        assertEquals(204, api.delete("/api/v1/volumes/" + id, operator).status());
    }

    @Test
    public void realClientsUseExactlyTheReturnedUriAndTlsFiles() throws Exception {
        long size = 16 << 20;
        String id = create(operator, newName(), size).get("id").asText();
        String attachments = "/api/v1/volumes/" + id + "/attachments";
        Api.Reply attached = api.post(attachments, operator, Map.of("instanceId", "vm-a"));
        assertEquals(attached.toString(), 201, attached.status());
        JsonNode a = attached.json();
        String attachmentId = a.get("attachmentId").asText();
        assertEquals(id, a.get("volumeId").asText());
        assertEquals("vm-a", a.get("instanceId").asText());
        assertTrue(a.get("epoch").asLong() > 0);
        assertTrue(Instant.parse(a.get("leaseExpiresAt").asText()).isAfter(Instant.now().minusSeconds(1)));
        URI uri = URI.create(a.get("uri").asText());
        assertEquals("nbds", uri.getScheme());
        assertEquals(app.port("nbd"), uri.getPort());
        Path dir = tmp.newFolder().toPath();
        Files.writeString(dir.resolve("ca-cert.pem"), a.get("tls").get("caCertPem").asText());
        Files.writeString(dir.resolve("client-cert.pem"), a.get("tls").get("clientCertPem").asText());
        Files.writeString(dir.resolve("client-key.pem"), a.get("tls").get("clientKeyPem").asText());

        String info = run("nbdinfo", uri + "?tls-certificates=" + dir);
        assertThat(info, containsString("export-size: " + size));

        Path image = dir.resolve("image.raw");
        byte[] bytes = new byte[(int) size];
        Random random = new Random(42);
        for (int off = 0; off < bytes.length; off += 1 << 20) {
            byte[] chunk = new byte[256 << 10]; // a quarter of every MiB: data and holes
            random.nextBytes(chunk);
            System.arraycopy(chunk, 0, bytes, off, chunk.length);
        }
        Files.write(image, bytes);
        String tlsObject = "tls-creds-x509,id=tls0,dir=" + dir + ",endpoint=client";
        String target = "driver=nbd,server.type=inet,server.host=" + uri.getHost() + ",server.port=" + uri.getPort()
                + ",export=" + uri.getPath().substring(1) + ",tls-creds=tls0";
        run("qemu-img", "convert", "-n", "--object", tlsObject, "-f", "raw", image.toString(), "--target-image-opts",
                target);
        String compared = run("qemu-img", "compare", "--object", tlsObject, "--image-opts",
                "driver=raw,file.filename=" + image, target);
        assertThat(compared, containsString("Images are identical"));

        Api.Reply again = api.post(attachments, operator, Map.of("instanceId", "vm-a"));
        assertEquals("the same instance again: " + again, 200, again.status());
        assertEquals(attachmentId, again.json().get("attachmentId").asText());
        assertEquals(a.get("epoch").asLong(), again.json().get("epoch").asLong());
        Api.Reply other = api.post(attachments, operator, Map.of("instanceId", "vm-b"));
        assertEquals("another instance while held: " + other, 409, other.status());
        assertEquals("volume_attached", other.error());
        Api.Reply refusedDelete = api.delete("/api/v1/volumes/" + id, operator);
        assertEquals(refusedDelete.toString(), 409, refusedDelete.status());
        assertEquals("volume_attached", refusedDelete.error());

        JsonNode described = api.get("/api/v1/volumes/" + id, viewer).json();
        assertEquals("in-use", described.get("state").asText());
        assertEquals("vm-a", described.get("attachment").get("instanceId").asText());
        assertTrue("credentials are not described", described.get("attachment").get("tls").isNull());
        assertEquals(attachmentId, api.get(attachments, viewer).json().get(0).get("attachmentId").asText());

        Api.Reply renewed = api.post(attachments + "/" + attachmentId + "/renew", operator, null);
        assertEquals(renewed.toString(), 200, renewed.status());
        assertEquals(403, api.delete(attachments + "/" + attachmentId + "?force=true", operator).status());
        // The clients have exited; the engine notices their closed connections, then the detach is allowed.
        await().atMost(Duration.ofSeconds(20)).until(() -> api.delete(attachments + "/" + attachmentId, operator)
                .status() == 204);
        assertEquals("available", api.get("/api/v1/volumes/" + id, viewer).json().get("state").asText());
        assertNotEquals("detached credentials no longer work", 0,
                exit("nbdinfo", uri + "?tls-certificates=" + dir));

        Api.Reply b = api.post(attachments, operator, Map.of("instanceId", "vm-b"));
        assertEquals(b.toString(), 201, b.status());
        assertTrue("a new attachment has a larger epoch", b.json().get("epoch").asLong() > a.get("epoch").asLong());
        Api.Reply forced = api.delete(attachments + "/" + b.json().get("attachmentId").asText() + "?force=true", admin);
        assertEquals(forced.toString(), 204, forced.status());
        assertEquals(204, api.delete("/api/v1/volumes/" + id, operator).status());
    }

    @Test
    public void standbysAreRegisteredListedAndRemoved() {
        String id = create(operator, newName(), 4096).get("id").asText();
        String standbys = "/api/v1/volumes/" + id + "/standbys";
        Api.Reply s = api.post(standbys, operator, Map.of("instanceId", "spare-1"));
        assertEquals(s.toString(), 201, s.status());
        assertEquals("spare-1", api.get(standbys, viewer).json().get(0).get("instanceId").asText());
        assertEquals(403, api.post(standbys, viewer, Map.of("instanceId", "spare-2")).status());
        assertEquals(204, api.delete(standbys + "/spare-1", operator).status());
        assertEquals(0, api.get(standbys, viewer).json().size());
        Api.Reply taken = api.post("/api/v1/volumes/" + id + "/takeover", operator, Map.of("instanceId", "vm-t"));
        assertEquals("takeover of a free volume attaches: " + taken, 200, taken.status());
        assertEquals("vm-t", taken.json().get("instanceId").asText());
        assertTrue(taken.json().get("uri").asText().startsWith("nbds://"));
        Api.Reply lease = api.post("/api/v1/volumes/" + id + "/takeover", operator, Map.of("instanceId", "vm-u"));
        assertEquals("the lease still runs: " + lease, 409, lease.status());
        assertEquals("lease_held", lease.error());
    }

    @Test
    public void theOpenApiDocumentListsTheVolumeOperations() {
        JsonNode paths = api.get("/api/v1/openapi.json", Map.of()).json().get("paths");
        assertEquals("operator", paths.get("/volumes").get("post").get("x-cairn-role").asText());
        assertEquals("viewer", paths.get("/volumes").get("get").get("x-cairn-role").asText());
        assertTrue(paths.get("/volumes/{id}").has("patch"));
        assertTrue(paths.get("/volumes/{id}").has("delete"));
        assertTrue(paths.get("/volumes/{id}/attachments").has("post"));
        assertTrue(paths.get("/volumes/{id}/attachments/{attachmentId}/renew").has("post"));
        assertTrue(paths.get("/volumes/{id}/standbys").has("post"));
        assertTrue(paths.get("/volumes/{id}/takeover").has("post"));
    }

    private static List<String> ids(JsonNode list) {
        List<String> ids = new ArrayList<>();
        list.forEach(v -> ids.add(v.get("id").asText()));
        return ids;
    }

    /** Runs a client to completion; fails with its output unless it exits 0. */
    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(String.join(" ", command) + " timed out", p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(String.join(" ", command) + ": " + out, 0, p.exitValue());
        return out;
    }

    private static int exit(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return p.exitValue();
    }
}
