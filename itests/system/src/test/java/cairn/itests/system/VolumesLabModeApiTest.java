package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;

import cairn.itests.support.ApplianceProcess;

/** In lab mode ({@code --nbd-tls off}) an attachment is a plaintext {@code nbd://} URI and no TLS files. */
public class VolumesLabModeApiTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void labModeAttachmentsArePlainUrisWithoutTls() throws Exception {
        try (ApplianceProcess app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"),
                List.of("--nbd-tls", "off"), Map.of()).startAndAwaitReady()) {
            Api api = new Api(app.httpUrl());
            Map<String, String> admin = Api.basic("admin", app.initialAdminPassword());
            Api.Reply created = api.post("/api/v1/volumes", admin, Map.of("name", "lab", "sizeBytes", 1 << 20));
            assertEquals(created.toString(), 201, created.status());
            String id = created.json().get("id").asText();
            Api.Reply attached = api.post("/api/v1/volumes/" + id + "/attachments", admin, Map.of("instanceId", "bench"));
            assertEquals(attached.toString(), 201, attached.status());
            JsonNode a = attached.json();
            assertTrue("no TLS files in lab mode: " + a, a.get("tls").isNull());
            URI uri = URI.create(a.get("uri").asText());
            assertEquals("nbd", uri.getScheme());
            assertEquals(app.port("nbd"), uri.getPort());
            assertThat(run("nbdinfo", uri.toString()), containsString("export-size: " + (1 << 20)));
            assertNotEquals("a guessed export name is refused", 0,
                    exit("nbdinfo", "nbd://" + uri.getHost() + ":" + uri.getPort() + "/lab"));
            await().atMost(Duration.ofSeconds(20)).until(() -> api.delete("/api/v1/volumes/" + id + "/attachments/"
                    + a.get("attachmentId").asText(), admin).status() == 204);
            assertNotEquals("a detached export name is refused", 0, exit("nbdinfo", uri.toString()));
        }
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(String.join(" ", command) + ": " + out, 0, p.exitValue());
        return out;
    }

    private static int exit(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return p.exitValue();
    }
}
