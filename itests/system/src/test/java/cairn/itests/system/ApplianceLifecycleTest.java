package cairn.itests.system;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;

/** The appliance process as an operator runs it: start, restart, refuse bad starts. */
public class ApplianceLifecycleTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final ObjectMapper json = new ObjectMapper();

    @Test
    public void healthReportsReadyWithItsChecks() throws Exception {
        try (ApplianceProcess app = ApplianceProcess.create(tmp.getRoot().toPath()).startAndAwaitReady()) {
            JsonNode health = json.readTree(app.health().body());
            assertEquals("READY", health.get("status").asText());
            assertTrue(health.get("checks").size() >= 3);
            for (JsonNode check : health.get("checks")) {
                assertTrue(check.toString(), check.get("ok").asBoolean());
                if (check.get("name").asText().equals("nbd")) {
                    // the image carries this machine's BoringSSL and the NBD server runs on it
                    assertThat(check.get("message").asText(), containsString("(TLS, openssl)"));
                }
            }
        }
    }

    @Test
    public void identityAndDataSurviveARestart() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        String firstId;
        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertThat(app.consoleText(), containsString("First boot: appliance"));
            firstId = applianceId(app);
            assertEquals(36, firstId.length());
            assertEquals(0, app.stop());
        }
        try (ApplianceProcess again = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertEquals(firstId, applianceId(again));
            long firstBoots = again.consoleText().lines().filter(l -> l.contains("First boot: appliance")).count();
            assertEquals("identity must be created once", 1, firstBoots);
        }
    }

    @Test
    public void aNonLoopbackBindServesHttpsWithACertificateKeptAcrossRestarts() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        // all addresses are bound, but the test only ever connects to 127.0.0.1
        List<String> anyAddress = List.of("--bind", "0.0.0.0");
        byte[] first;
        try (ApplianceProcess app = ApplianceProcess.create(data, anyAddress, Map.of()).startAndAwaitReady()) {
            assertTrue(app.httpUrl().startsWith("https://"));
            assertEquals(200, app.health().statusCode());
            first = serverCertificate(app);
            assertEquals("the key store is private", "rw-------",
                    java.nio.file.attribute.PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(data.resolve("tls/http.p12"))));
            try {
                java.net.http.HttpResponse<String> plain = java.net.http.HttpClient.newHttpClient().send(
                        java.net.http.HttpRequest.newBuilder(
                                java.net.URI.create("http://127.0.0.1:" + app.port("http") + "/health")).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                assertNotEquals("plain HTTP is not served on a non-loopback bind", 200, plain.statusCode());
            } catch (java.io.IOException expected) {
                // the TLS port does not speak plain HTTP at all
            }
        }
        try (ApplianceProcess again = ApplianceProcess.create(data, anyAddress, Map.of()).startAndAwaitReady()) {
            assertTrue(java.util.Arrays.equals(first, serverCertificate(again)));
        }
    }

    private static byte[] serverCertificate(ApplianceProcess app) throws Exception {
        javax.net.ssl.SSLSocketFactory factory = app.trustingOwnCertificate().getSocketFactory();
        try (javax.net.ssl.SSLSocket socket = (javax.net.ssl.SSLSocket) factory.createSocket("127.0.0.1", app.port("http"))) {
            javax.net.ssl.SSLParameters params = socket.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            socket.setSSLParameters(params);
            socket.startHandshake();
            return socket.getSession().getPeerCertificates()[0].getEncoded();
        }
    }

    @Test
    public void operatorConfigFilesAreInEffectOnceTheApplianceIsReady() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        Files.createDirectories(data.resolve("etc"));
        // one failed login blocks the user name: observable from outside the moment /health says READY
        Files.writeString(data.resolve("etc/cairn.platform.users.cfg"), "maxFailuresPerUser = 1\n");
        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            JsonNode health = json.readTree(app.health().body());
            JsonNode configuration = null;
            for (JsonNode check : health.get("checks")) {
                if (check.get("name").asText().equals("configuration")) {
                    configuration = check;
                }
            }
            assertTrue(health.toString(), configuration != null && configuration.get("ok").asBoolean());
            assertThat(configuration.get("message").asText(), containsString("1 operator file(s) in effect"));
            Api api = new Api(app.httpUrl());
            assertEquals(401, api.get("/api/v1/users", Api.basic("admin", "not-the-password-1")).status());
            int status = api.get("/api/v1/users", Api.basic("admin", app.initialAdminPassword())).status();
            assertNotEquals("after one failure the user name is blocked, as the operator file says", 200, status);
        }
    }

    @Test
    public void anInvalidValueInAnOperatorConfigFileIsRejectedAndTheApplianceStaysReady() throws Exception {
        try (ApplianceProcess app = ApplianceProcess.create(tmp.getRoot().toPath()).startAndAwaitReady()) {
            Files.writeString(app.data().resolve("etc/cairn.platform.readiness.cfg"), "checkTimeoutMillis = soon\n");
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> app.consoleText()
                    .contains("Configuration cairn.platform.readiness rejected: checkTimeoutMillis: 'soon'"));
            assertEquals(200, app.health().statusCode());
        }
    }

    @Test
    public void aBusyPortFailsStartupWithOneClearLine() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            try (ApplianceProcess app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"),
                    List.of("--ssh-port", Integer.toString(taken.getLocalPort())), Map.of()).start()) {
                int code = app.awaitExit(Duration.ofSeconds(60));
                assertNotEquals(0, code);
                assertThat(app.consoleText(),
                        containsString("cannot bind the SSH port 127.0.0.1:" + taken.getLocalPort()));
                assertEquals("one line, no stack trace", 1, app.consoleText().strip().lines().count());
            }
        }
    }

    @Test
    public void aLockedDatabaseStopsStartupAndIsNotRecreated() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertEquals(0, app.stop());
        }
        long rowsBefore;
        // another process (this JVM) opens the database and so holds Derby's lock on it
        try (Connection other = DriverManager.getConnection("jdbc:derby:" + data.resolve("db"))) {
            rowsBefore = count(other, "SELECT COUNT(*) FROM APPLIANCE");
            try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).start()) {
                int code = app.awaitExit(Duration.ofSeconds(90));
                assertNotEquals(0, code);
                assertThat(app.consoleText(), containsString("in use by another process"));
                assertEquals(rowsBefore, count(other, "SELECT COUNT(*) FROM APPLIANCE"));
            }
        } finally {
            shutdownDerby(data);
        }
        assertEquals(1, rowsBefore);
    }

    @Test
    public void aCorruptDatabaseStopsStartupAndIsKept() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertEquals(0, app.stop());
        }
        Path props = data.resolve("db/service.properties");
        Files.writeString(props, "garbage that is not a derby service file\u0000\u0001");
        Path seg = data.resolve("db/seg0");
        try (var files = Files.list(seg)) {
            for (Path f : files.toList()) {
                Files.write(f, new byte[] { 1, 2, 3 });
            }
        }
        try (ApplianceProcess app = ApplianceProcess.create(data, List.of(), Map.of()).start()) {
            int code = app.awaitExit(Duration.ofSeconds(90));
            assertNotEquals(0, code);
            assertThat(app.consoleText(), containsString("metadata database"));
        }
        assertTrue("the damaged database is left for recovery", Files.exists(seg));
        assertEquals(3, Files.size(Files.list(seg).findFirst().orElseThrow()));
    }

    /** Every boot logs "Appliance <id> (<name>) role <role> firmware <version>". */
    private static String applianceId(ApplianceProcess app) {
        return app.consoleText().lines().filter(l -> l.contains("ApplianceServiceImpl - Appliance ")).reduce((a, b) -> b)
                .map(l -> l.substring(l.indexOf("Appliance ") + 10).split(" ")[0])
                .orElseThrow(() -> new AssertionError("no identity line in:\n" + app.consoleText()));
    }

    private static long count(Connection c, String sql) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void shutdownDerby(Path data) {
        try {
            DriverManager.getConnection("jdbc:derby:" + data.resolve("db") + ";shutdown=true").close();
        } catch (Exception expected) {
            // Derby reports a successful shutdown as an exception
        }
    }
}
