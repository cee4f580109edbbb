package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;
import cairn.itests.support.UpgradeJars;

/**
 * Hot upgrades on the real appliance through DATA/deploy: a higher version of a real
 * bundle is committed and kept across a restart; refusals change nothing; a jar whose
 * component fails to activate is rolled back by itself and the history says why.
 */
public class UpgradeSystemTest {

    private static final String BUNDLE = "cairn.blockstore";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final ObjectMapper json = new ObjectMapper();

    @Test
    public void aHigherVersionIsCommittedAndSurvivesARestart() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path data = work.resolve("data");
        Path original = UpgradeJars.imageJar(BUNDLE);
        String shipped = UpgradeJars.version(original);
        String higher = UpgradeJars.higher(shipped);
        Path upgrade = UpgradeJars.withVersion(original, higher, work.resolve("jars/blockstore-higher.jar"));

        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertThat(upgradesCheck(app), containsString("every bundle runs the image's version"));

            // refusals first: the same version, and a jar that is not a bundle
            UpgradeJars.drop(UpgradeJars.withVersion(original, shipped, work.resolve("jars/blockstore-same.jar")), data);
            Properties same = awaitResult(data, "blockstore-same.jar");
            assertEquals("REFUSED", same.getProperty("outcome"));
            assertEquals("failed", same.getProperty("folder"));
            assertThat(same.getProperty("reason"), containsString("is not higher than the installed"));
            Path notABundle = work.resolve("jars/not-a-bundle.jar");
            Files.write(notABundle, "not a zip".getBytes());
            UpgradeJars.drop(notABundle, data);
            assertThat(awaitResult(data, "not-a-bundle.jar").getProperty("reason"), containsString("not a readable jar"));

            UpgradeJars.drop(upgrade, data);
            Properties r = awaitResult(data, "blockstore-higher.jar");
            assertEquals(r.toString(), "COMMITTED", r.getProperty("outcome"));
            assertEquals("done", r.getProperty("folder"));
            assertEquals(BUNDLE, r.getProperty("bundle"));
            assertEquals(shipped, r.getProperty("from"));
            assertEquals(higher, r.getProperty("to"));
            assertEquals(200, app.health().statusCode());
            assertThat(upgradesCheck(app), containsString(BUNDLE + " " + higher));
            assertFalse("the jar left the deploy folder", Files.exists(data.resolve("deploy/blockstore-higher.jar")));
            assertTrue("the previous jar is kept",
                    Files.isRegularFile(data.resolve("upgrades/" + BUNDLE + "/" + shipped + ".jar")));
            assertEquals(0, app.stop());
        }

        try (ApplianceProcess again = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertThat("the upgraded bundle is what boots after a restart", upgradesCheck(again),
                    containsString(BUNDLE + " " + higher));
            assertEquals(0, again.stop());
        }

        List<String> history = history(data);
        assertEquals(history.toString(), 3, history.size());
        assertThat(history.get(0), containsString("system|deploy:blockstore-same.jar|upgrade|" + BUNDLE + "|"
                + shipped + "|" + shipped + "|REFUSED"));
        assertThat(history.get(1), containsString("|deploy:not-a-bundle.jar|upgrade||||REFUSED"));
        assertThat(history.get(2), containsString("system|deploy:blockstore-higher.jar|upgrade|" + BUNDLE + "|"
                + shipped + "|" + higher + "|COMMITTED"));
        assertTrue(audit(data).stream().anyMatch(a -> a.startsWith("system|bundle.upgrade|" + BUNDLE + " " + shipped
                + " -> " + higher + "|committed")));
    }

    @Test
    public void aComponentThatFailsToActivateIsRolledBackAndTheHistorySaysWhy() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path data = work.resolve("data");
        Path original = UpgradeJars.imageJar(BUNDLE);
        String shipped = UpgradeJars.version(original);
        String higher = UpgradeJars.higher(shipped);
        Path broken = UpgradeJars.withFailingComponent(original, higher, "cairn.blockstore.internal",
                work.resolve("broken-build"), work.resolve("jars/blockstore-broken.jar"));

        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            UpgradeJars.drop(broken, data);
            Properties r = awaitResult(data, "blockstore-broken.jar");
            assertEquals(r.toString(), "ROLLED_BACK", r.getProperty("outcome"));
            assertEquals("failed", r.getProperty("folder"));
            assertEquals(shipped, r.getProperty("running"));
            assertThat(r.getProperty("reason"), containsString("cairn.blockstore.internal.BrokenOnPurpose failed to activate"));
            assertThat(r.getProperty("reason"), containsString("broken on purpose by the upgrade test"));
            assertThat(r.getProperty("reason"), containsString("restored " + shipped));
            await().atMost(Duration.ofSeconds(30)).until(() -> app.health().statusCode() == 200);
            assertThat(upgradesCheck(app), containsString("every bundle runs the image's version"));
            assertEquals(0, app.stop());
        }
        List<String> history = history(data);
        assertEquals(history.toString(), 1, history.size());
        assertThat(history.get(0), containsString("|" + shipped + "|" + higher + "|ROLLED_BACK|"));
        assertThat(history.get(0), containsString("BrokenOnPurpose failed to activate"));
    }

    @Test
    public void whenSigningIsRequiredAnUnsignedJarIsRefusedAndNothingChanges() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path data = work.resolve("data");
        Files.createDirectories(data.resolve("etc"));
        // the operator's switch: DATA/etc/cairn.upgrade.cfg, read by ConfigAdmin at boot
        Files.writeString(data.resolve("etc/cairn.upgrade.cfg"), "requireSignature=true\n");
        Path original = UpgradeJars.imageJar(BUNDLE);
        String shipped = UpgradeJars.version(original);
        Path unsigned = UpgradeJars.withVersion(original, UpgradeJars.higher(shipped), work.resolve("jars/unsigned.jar"));

        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            // FileInstall hands DATA/etc to ConfigAdmin asynchronously and readiness does not wait
            // for it: wait until the read-only plan reports the signing rule before the drop
            String admin = "Basic " + Base64.getEncoder()
                    .encodeToString(("admin:" + app.initialAdminPassword()).getBytes(StandardCharsets.UTF_8));
            HttpClient http = HttpClient.newHttpClient();
            await().atMost(Duration.ofSeconds(60)).until(() -> http.send(HttpRequest
                    .newBuilder(URI.create(app.httpUrl() + "/api/v1/upgrades/plan"))
                    .header("Authorization", admin).header("Content-Type", "application/java-archive")
                    .POST(HttpRequest.BodyPublishers.ofFile(unsigned)).build(),
                    HttpResponse.BodyHandlers.ofString()).body().contains("requires signed upgrades"));
            UpgradeJars.drop(unsigned, data);
            Properties r = awaitResult(data, "unsigned.jar");
            assertEquals(r.toString(), "REFUSED", r.getProperty("outcome"));
            assertThat(r.getProperty("reason"), containsString("the jar is not signed"));
            assertThat(r.getProperty("reason"), containsString("requires signed upgrades"));
            assertThat(r.getProperty("reason"), containsString("upgrade-trust.p12 does not exist"));
            assertThat(upgradesCheck(app), containsString("every bundle runs the image's version"));
            assertEquals(0, app.stop());
        }
        assertThat(history(data).get(0), containsString("|REFUSED|"));
    }

    private String upgradesCheck(ApplianceProcess app) throws Exception {
        JsonNode health = json.readTree(app.health().body());
        for (JsonNode c : health.get("checks")) {
            if (c.get("name").asText().equals("upgrades")) {
                return c.get("message").asText();
            }
        }
        throw new AssertionError("no upgrades check in " + health);
    }

    static Properties awaitResult(Path data, String jarName) {
        return await("deploy result of " + jarName).atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                .until(() -> UpgradeJars.result(data, jarName), p -> p != null);
    }

    /** UPGRADE_HISTORY in id order, read from the stopped appliance's database. */
    static List<String> history(Path data) throws SQLException {
        return rows(data, "SELECT ACTOR, SOURCE, KIND, BUNDLE, FROM_VERSION, TO_VERSION, OUTCOME, REASON "
                + "FROM UPGRADE_HISTORY ORDER BY ID", 8);
    }

    private static List<String> audit(Path data) throws SQLException {
        return rows(data, "SELECT ACTOR, ACTION, TARGET, RESULT FROM AUDIT_LOG WHERE ACTION LIKE 'bundle.%' ORDER BY ID", 4);
    }

    private static List<String> rows(Path data, String sql, int columns) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection("jdbc:derby:" + data.resolve("db"));
                Statement s = c.createStatement(); ResultSet r = s.executeQuery(sql)) {
            while (r.next()) {
                List<String> cells = new ArrayList<>();
                for (int i = 1; i <= columns; i++) {
                    cells.add(r.getString(i));
                }
                out.add(String.join("|", cells));
            }
        } finally {
            try {
                DriverManager.getConnection("jdbc:derby:" + data.resolve("db") + ";shutdown=true").close();
            } catch (SQLException expected) {
                // Derby reports a successful shutdown as an exception
            }
        }
        return out;
    }
}
