package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;

/**
 * Image upgrade from the running appliance's surfaces, REST
 * ({@code POST /api/v1/upgrades/images} with the {@code .tar.gz} as the body,
 * {@code GET /api/v1/upgrades/images}) and the SSH console ({@code upgrade:image},
 * {@code upgrade:images}): unsafe or incomplete archives are refused with a clear error
 * and leave the slots as they were; a good image is staged in the inactive slot, audited,
 * and boots on trial at the next start exactly as after {@code bin/cairn upgrade}.
 */
public class ImageUpgradeSurfacesTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    public void imagesAreStagedThroughRestAndSshWithTheLaunchersChecks() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path data = work.resolve("data");
        Path good = ImageUpgradeSystemTest.buildImage(work, "rest", "0.9.2-rest", false);
        Path sshImage = ImageUpgradeSystemTest.buildImage(work, "ssh", "0.9.3-ssh", false);
        Path unpacked = work.resolve("images/rest");

        // hostile and incomplete archives, made by GNU tar from the good image's tree
        Files.writeString(work.resolve("outside"), "planted");
        Path climb = tar(work, "climb.tar.gz", "-czPf", unpacked, "bin", "etc", "bundles", "lib", "../../outside");
        Path absolute = tar(work, "absolute.tar.gz", "-czPf", unpacked, "bin", "etc", "bundles", "lib",
                work.resolve("outside").toString());
        Files.delete(work.resolve("outside"));
        Path linkTree = work.resolve("images/link");
        copyTree(unpacked, linkTree);
        Files.createSymbolicLink(linkTree.resolve("bundles/escape"), Path.of("/etc"));
        Path link = tar(work, "link.tar.gz", "-czf", linkTree, ".");
        Path noBin = work.resolve("images/nobin");
        copyTree(unpacked, noBin);
        Files.delete(noBin.resolve("bin/cairn"));
        Path incomplete = tar(work, "nobin.tar.gz", "-czf", noBin, ".");

        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            String admin = "Basic " + Base64.getEncoder()
                    .encodeToString(("admin:" + app.initialAdminPassword()).getBytes(StandardCharsets.UTF_8));
            JsonNode before = json.readTree(get(app, "/api/v1/upgrades/images", admin).body());
            assertEquals(before.toString(), "a", before.get("running").asText());
            assertEquals("a", before.get("active").asText());
            assertTrue(before.toString(), before.get("pending").isNull());
            String stateBefore = Files.readString(data.resolve("images/slots.properties"));

            byte[] small = Files.readAllBytes(unpacked.resolve("etc/image.properties"));
            assertRefused(post(app, admin, "application/java-archive", small), 400, "Content-Type: application/gzip");
            assertEquals(401, post(app, null, "application/gzip", small).statusCode());
            assertRefused(post(app, admin, "application/gzip", "not an archive".getBytes(StandardCharsets.UTF_8)), 400,
                    "not a .tar.gz image archive");
            assertRefused(post(app, admin, "application/gzip", Files.readAllBytes(climb)), 400, "climbs out of the image");
            assertRefused(post(app, admin, "application/gzip", Files.readAllBytes(absolute)), 400, "absolute path");
            assertRefused(post(app, admin, "application/gzip", Files.readAllBytes(link)), 400, "symbolic link");
            assertRefused(post(app, admin, "application/gzip", Files.readAllBytes(incomplete)), 400, "no bin/cairn");
            assertFalse("nothing written outside", Files.exists(work.resolve("outside")));
            assertFalse("no slot was staged", Files.exists(data.resolve("images/b")));
            assertEquals("the slot state is as it was", stateBefore,
                    Files.readString(data.resolve("images/slots.properties")));
            assertEquals(before, json.readTree(get(app, "/api/v1/upgrades/images", admin).body()));

            HttpResponse<String> staged = post(app, admin, "application/gzip", Files.readAllBytes(good));
            assertEquals(staged.body(), 202, staged.statusCode());
            JsonNode s = json.readTree(staged.body());
            assertEquals("b", s.get("slot").asText());
            assertEquals("0.9.2-rest", s.get("version").asText());
            assertThat(s.get("takesEffect").asText(), containsString("next start"));
            JsonNode after = json.readTree(get(app, "/api/v1/upgrades/images", admin).body());
            assertEquals("b", after.get("pending").asText());
            assertEquals("0.9.2-rest", after.get("versions").get("b").asText());
            assertEquals("a", after.get("running").asText());

            Ssh ssh = new Ssh(app.port("ssh"), Files.createDirectories(work.resolve("ssh")));
            String password = app.initialAdminPassword();
            Ssh.Result missing = ssh.password("admin", password, "upgrade:image /no/such/image.tar.gz");
            assertNotEquals(0, missing.status());
            assertThat(missing.out() + missing.err(), containsString("no file /no/such/image.tar.gz"));
            Ssh.Result hostile = ssh.password("admin", password, "upgrade:image " + link);
            assertNotEquals(0, hostile.status());
            assertThat(hostile.out() + hostile.err(), containsString("symbolic link"));
            assertEquals("the refused image left the staged one", "0.9.2-rest",
                    json.readTree(get(app, "/api/v1/upgrades/images", admin).body()).get("versions").get("b").asText());
            Ssh.Result viaSsh = ssh.password("admin", password, "upgrade:image " + sshImage);
            assertEquals(viaSsh.toString(), 0, viaSsh.status());
            assertThat(viaSsh.out(), containsString("0.9.3-ssh"));
            Ssh.Result slots = ssh.password("admin", password, "upgrade:images");
            assertEquals(slots.toString(), 0, slots.status());
            assertThat(slots.out(), containsString("0.9.3-ssh"));

            JsonNode audit = json.readTree(get(app, "/api/v1/audit?action=image.stage&limit=100", admin).body());
            String entries = audit.toString();
            assertThat(entries, containsString("staged"));
            assertThat(entries, containsString("refused"));
            assertThat(entries, containsString("symbolic link"));
            assertEquals(0, app.stop());
        }

        // the next start boots what SSH staged, on trial, through that image's own launcher
        try (ApplianceProcess next = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            await().atMost(Duration.ofSeconds(60)).until(() -> next.consoleText()
                    .contains("image 0.9.3-ssh in slot b is healthy"));
            assertThat(next.consoleText(), containsString("launcher 0.9.3-ssh booting image 0.9.3-ssh from slot b"));
            String admin = "Basic " + Base64.getEncoder()
                    .encodeToString(("admin:" + next.initialAdminPassword()).getBytes(StandardCharsets.UTF_8));
            JsonNode now = json.readTree(get(next, "/api/v1/upgrades/images", admin).body());
            assertEquals(now.toString(), "b", now.get("running").asText());
            assertEquals("b", now.get("active").asText());
            assertEquals("0.9.3-ssh", now.get("runningVersion").asText());
            assertEquals(0, next.stop());
        }
    }

    private static void assertRefused(HttpResponse<String> r, int status, String message) {
        assertEquals(r.body(), status, r.statusCode());
        assertThat(r.body(), containsString(message));
    }

    private static Path tar(Path work, String name, String flags, Path dir, String... members) throws Exception {
        Path out = work.resolve(name);
        List<String> cmd = new java.util.ArrayList<>(List.of("tar", flags, out.toString(), "-C", dir.toString()));
        cmd.addAll(List.of(members));
        ImageUpgradeSystemTest.CommandResult r = ImageUpgradeSystemTest.run(cmd);
        assertEquals(r.output(), 0, r.exit());
        return out;
    }

    private static void copyTree(Path from, Path to) throws Exception {
        ImageUpgradeSystemTest.CommandResult r = ImageUpgradeSystemTest.run(List.of("cp", "-a", from.toString(),
                to.toString()));
        assertEquals(r.output(), 0, r.exit());
    }

    private HttpResponse<String> post(ApplianceProcess app, String auth, String type, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(app.httpUrl() + "/api/v1/upgrades/images"))
                .timeout(Duration.ofSeconds(180)).POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Content-Type", type);
        if (auth != null) {
            b.header("Authorization", auth);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(ApplianceProcess app, String path, String auth) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(app.httpUrl() + path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", auth).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
