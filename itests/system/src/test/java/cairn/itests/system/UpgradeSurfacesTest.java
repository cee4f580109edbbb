package cairn.itests.system;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;
import cairn.itests.support.UpgradeJars;

/**
 * The operator's surfaces of hot upgrade on the real appliance: REST
 * ({@code POST /api/v1/upgrades} with the jar as the body, history, rollback) and the
 * SSH console ({@code upgrade:install}, {@code upgrade:history}, {@code upgrade:rollback})
 * with the real OpenSSH client.
 */
public class UpgradeSurfacesTest {

    private static final String BUNDLE = "cairn.blockstore";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Test
    public void restAndSshUpgradeShowHistoryAndRollBack() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path original = UpgradeJars.imageJar(BUNDLE);
        String shipped = UpgradeJars.version(original);
        String higher = UpgradeJars.higher(shipped);
        String evenHigher = UpgradeJars.higher(higher);
        Path jar = UpgradeJars.withVersion(original, higher, work.resolve("jars/rest.jar"));
        Path sshJar = UpgradeJars.withVersion(original, evenHigher, work.resolve("jars/ssh.jar"));

        try (ApplianceProcess app = ApplianceProcess.create(work.resolve("data"), java.util.List.of(), Map.of())
                .startAndAwaitReady()) {
            String admin = "Basic " + java.util.Base64.getEncoder()
                    .encodeToString(("admin:" + app.initialAdminPassword()).getBytes());

            HttpResponse<String> wrongType = post(app, "/api/v1/upgrades", admin, "application/json", Files.readAllBytes(jar));
            assertEquals(wrongType.body(), 400, wrongType.statusCode());
            assertThat(wrongType.body(), containsString("application/java-archive"));
            HttpResponse<String> anonymous = post(app, "/api/v1/upgrades", null, "application/java-archive",
                    Files.readAllBytes(jar));
            assertEquals(401, anonymous.statusCode());

            HttpResponse<String> up = post(app, "/api/v1/upgrades", admin, "application/java-archive", Files.readAllBytes(jar));
            assertEquals(up.body(), 200, up.statusCode());
            JsonNode result = json.readTree(up.body());
            assertEquals("COMMITTED", result.get("outcome").asText());
            assertEquals(higher, result.get("runningVersion").asText());

            HttpResponse<String> again = post(app, "/api/v1/upgrades", admin, "application/java-archive", Files.readAllBytes(jar));
            assertEquals(again.body(), 409, again.statusCode());
            assertThat(again.body(), containsString("is not higher than the installed"));
            HttpResponse<String> forced = post(app, "/api/v1/upgrades?force=true", admin, "application/java-archive",
                    Files.readAllBytes(jar));
            assertEquals(forced.body(), 200, forced.statusCode());

            JsonNode history = json.readTree(get(app, "/api/v1/upgrades?bundle=" + BUNDLE, admin).body());
            assertEquals(history.toString(), 3, history.size());
            assertEquals("COMMITTED", history.get(0).get("outcome").asText());
            assertEquals("REFUSED", history.get(1).get("outcome").asText());
            assertEquals("admin", history.get(2).get("actor").asText());

            Ssh ssh = new Ssh(app.port("ssh"), Files.createDirectories(work.resolve("ssh")));
            String password = app.initialAdminPassword();
            Ssh.Result install = ssh.password("admin", password, "upgrade:install " + sshJar);
            assertEquals(install.toString(), 0, install.status());
            assertThat(install.out(), containsString("committed"));
            assertThat(install.out(), containsString(evenHigher));

            Ssh.Result missing = ssh.password("admin", password, "upgrade:install /no/such/file.jar");
            assertNotEquals(0, missing.status());
            assertThat(missing.out() + missing.err(), containsString("no file /no/such/file.jar"));

            Ssh.Result rollback = ssh.password("admin", password, "upgrade:rollback " + BUNDLE);
            assertEquals(rollback.toString(), 0, rollback.status());
            assertThat(rollback.out(), containsString("committed"));
            assertBundleVersion(app, admin, higher);

            HttpResponse<String> restBack = post(app, "/api/v1/upgrades/" + BUNDLE + "/rollback", admin, null, null);
            assertEquals(restBack.body(), 200, restBack.statusCode());
            assertEquals(evenHigher, json.readTree(restBack.body()).get("runningVersion").asText());

            Ssh.Result listed = ssh.password("admin", password, "upgrade:history " + BUNDLE);
            assertEquals(listed.toString(), 0, listed.status());
            assertThat(listed.out(), containsString("rollback"));
            assertThat(listed.out(), containsString("refused"));
            assertEquals(0, app.stop());
        }
    }

    private void assertBundleVersion(ApplianceProcess app, String auth, String version) throws Exception {
        for (JsonNode b : json.readTree(get(app, "/api/v1/upgrades/bundles", auth).body())) {
            if (b.get("symbolicName").asText().equals(BUNDLE)) {
                assertEquals(version, b.get("version").asText());
                return;
            }
        }
        throw new AssertionError(BUNDLE + " is not listed");
    }

    private HttpResponse<String> post(ApplianceProcess app, String path, String auth, String type, byte[] body)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(app.httpUrl() + path)).timeout(Duration.ofSeconds(180))
                .POST(body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        if (type != null) {
            b.header("Content-Type", type);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(ApplianceProcess app, String path, String auth) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(app.httpUrl() + path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", auth).GET().build(), HttpResponse.BodyHandlers.ofString());
    }
}
