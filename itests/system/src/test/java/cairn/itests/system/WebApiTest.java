package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.CoreMatchers.not;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;

import cairn.itests.support.ApplianceProcess;

/**
 * The REST API over real HTTP against the real appliance process, as scripts and
 * browsers use it: authentication, roles, CSRF, validation, tokens, throttling, the
 * audit log, the log tail and the OpenAPI document.
 */
public class WebApiTest {

    @ClassRule
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static ApplianceProcess app;
    private static Api api;
    private static String adminPassword;
    /** An admin token: fast for the many calls that only need to be an admin. */
    private static Map<String, String> admin;
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static final String PASSWORD = "a long enough password";

    @BeforeClass
    public static void startAppliance() {
        app = ApplianceProcess.create(tmp.getRoot().toPath()).startAndAwaitReady();
        api = new Api(app.httpUrl());
        adminPassword = app.initialAdminPassword();
        Api.Reply token = api.post("/api/v1/tokens", Api.basic("admin", adminPassword),
                Map.of("name", "web api test"));
        assertEquals(token.toString(), 201, token.status());
        admin = Api.bearer(token.json().get("secret").asText());
    }

    @AfterClass
    public static void stopAppliance() {
        if (app != null) {
            app.stop();
        }
    }

    private static String newName(String prefix) {
        return prefix + NAMES.incrementAndGet();
    }

    private static void createUser(String name, String role) {
        Api.Reply r = api.post("/api/v1/users", admin, Map.of("name", name, "password", PASSWORD, "role", role));
        assertEquals(r.toString(), 201, r.status());
    }

    @Test
    public void theInitialPasswordFileIsPrivateAndWorksAndIsNeverLogged() throws Exception {
        Path file = app.data().resolve("initial-admin-password");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        String content = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue("the password and a newline", content.endsWith("\n") && !content.strip().contains("\n"));
        Api.Reply me = api.get("/api/v1/session", Api.basic("admin", content.strip()));
        assertEquals(me.toString(), 200, me.status());
        assertEquals("admin", me.json().get("role").asText());
        assertThat(app.consoleText(), containsString(file.toString()));
        assertThat(app.consoleText(), not(containsString(content.strip())));
        String log = Files.readString(app.data().resolve("log/cairn.log"), StandardCharsets.UTF_8);
        assertThat(log, not(containsString(content.strip())));
    }

    @Test
    public void withoutCredentialsTheApiAnswers401AndHealthStaysOpen() {
        for (String path : List.of("/api/v1/appliance", "/api/v1/users", "/api/v1/audit", "/api/v1/logs",
                "/api/v1/bundles", "/api/v1/tokens")) {
            Api.Reply r = api.get(path, Map.of());
            assertEquals(path, 401, r.status());
            assertEquals("unauthenticated", r.error());
            assertFalse(r.json().get("message").asText().isBlank());
        }
        Api.Reply post = api.post("/api/v1/users", Map.of(), Map.of("name", "ghost", "password", PASSWORD, "role", "admin"));
        assertEquals(401, post.status());
        assertEquals(404, api.get("/api/v1/users/ghost", admin).status());
        assertEquals(401, api.get("/api/v1/users", Api.bearer("cairn_not-a-real-token")).status());
        assertEquals("the /health contract: no authentication", 200, app.health().statusCode());
        assertEquals("READY", new Api.Reply(200, app.health()).json().get("status").asText());
    }

    @Test
    public void aViewerWhoTriesToChangeSomethingGets403AndItIsAudited() {
        String viewer = newName("viewer");
        createUser(viewer, "viewer");
        Map<String, String> asViewer = Api.basic(viewer, PASSWORD);
        assertEquals(200, api.get("/api/v1/users", asViewer).status());
        Api.Reply r = api.post("/api/v1/users", asViewer, Map.of("name", "sneaky", "password", PASSWORD, "role", "admin"));
        assertEquals(r.toString(), 403, r.status());
        assertEquals("forbidden", r.error());
        assertEquals(403, api.delete("/api/v1/users/admin", asViewer).status());
        assertEquals(404, api.get("/api/v1/users/sneaky", admin).status());
        assertEquals("an operator's page", 403, api.get("/api/v1/logs", asViewer).status());

        JsonNode audit = api.get("/api/v1/audit?actor=" + viewer + "&action=http.*", admin).json();
        assertEquals(2, audit.get("total").asInt());
        for (JsonNode e : audit.get("entries")) {
            assertEquals("forbidden", e.get("result").asText());
            assertEquals("127.0.0.1", e.get("source").asText());
        }
    }

    @Test
    public void aBrowserSessionNeedsItsCsrfTokenOnEveryChange() {
        Api.Reply login = api.post("/api/v1/session", Map.of(), Map.of("user", "admin", "password", adminPassword));
        assertEquals(login.toString(), 200, login.status());
        String setCookie = login.header("Set-Cookie");
        assertNotNull(setCookie);
        for (String attribute : List.of("HttpOnly", "Secure", "SameSite=Strict", "Path=/")) {
            assertThat(setCookie, containsString(attribute));
        }
        Map<String, String> cookie = Map.of("Cookie", setCookie.substring(0, setCookie.indexOf(';')));
        String csrf = login.json().get("csrfToken").asText();
        assertTrue(csrf.length() >= 32);

        assertEquals("reading needs no token", 200, api.get("/api/v1/users", cookie).status());
        Api.Reply missing = api.post("/api/v1/tokens", cookie, Map.of("name", "from the browser"));
        assertEquals(missing.toString(), 403, missing.status());
        assertEquals("csrf_token_invalid", missing.error());
        Api.Reply wrong = api.post("/api/v1/tokens", Api.headers(cookie, "X-CSRF-Token", csrf + "x"),
                Map.of("name", "from the browser"));
        assertEquals(403, wrong.status());
        assertFalse("nothing was created", api.get("/api/v1/tokens", admin).raw().body().contains("from the browser"));

        Api.Reply ok = api.post("/api/v1/tokens", Api.headers(cookie, "X-CSRF-Token", csrf), Map.of("name", "from the browser"));
        assertEquals(ok.toString(), 201, ok.status());
        assertEquals(403, api.delete("/api/v1/session", cookie).status());
        Api.Reply logout = api.delete("/api/v1/session", Api.headers(cookie, "X-CSRF-Token", csrf));
        assertEquals(204, logout.status());
        assertThat(logout.header("Set-Cookie"), containsString("Max-Age=0"));
        assertEquals("the session is gone", 401, api.get("/api/v1/users", cookie).status());
        api.delete("/api/v1/tokens/" + ok.json().get("token").get("id").asText(), admin);
    }

    @Test
    public void malformedJsonAndInvalidFieldsAre400WithAClearMessageAndChangeNothing() {
        int before = api.get("/api/v1/users", admin).json().size();
        Api.Reply broken = api.post("/api/v1/users", admin, "{\"name\": \"x\", ");
        assertEquals(broken.toString(), 400, broken.status());
        assertEquals("malformed_json", broken.error());
        assertThat(broken.json().get("message").asText(), containsString("not valid JSON"));

        Api.Reply badName = api.post("/api/v1/users", admin, Map.of("name", "Robert'); DROP TABLE USERS;--",
                "password", PASSWORD, "role", "viewer"));
        assertEquals(400, badName.status());
        assertEquals("invalid_field", badName.error());
        assertEquals("name", badName.json().get("field").asText());
        assertThat(badName.json().get("message").asText(), containsString("lower-case letters"));

        Api.Reply shortPassword = api.post("/api/v1/users", admin, Map.of("name", "shorty", "password", "short",
                "role", "viewer"));
        assertEquals("password", shortPassword.json().get("field").asText());
        Api.Reply badRole = api.post("/api/v1/users", admin, Map.of("name", "norole", "password", PASSWORD,
                "role", "root"));
        assertEquals("role", badRole.json().get("field").asText());
        assertThat(badRole.json().get("message").asText(), containsString("admin, operator, viewer"));
        Api.Reply unknown = api.post("/api/v1/users", admin, Map.of("nmae", "typo"));
        assertEquals(400, unknown.status());
        assertEquals("nmae", unknown.json().get("field").asText());
        Api.Reply wrongType = api.post("/api/v1/tokens", admin, Map.of("name", "x", "lifetimeDays", "soon"));
        assertEquals(400, wrongType.status());
        assertEquals("lifetimeDays", wrongType.json().get("field").asText());
        Api.Reply notJson = api.send("POST", "/api/v1/users", admin, "name=x", "application/x-www-form-urlencoded");
        assertEquals(400, notJson.status());
        assertThat(notJson.json().get("message").asText(), containsString("application/json"));
        Api.Reply badLimit = api.get("/api/v1/audit?limit=0", admin);
        assertEquals("limit", badLimit.json().get("field").asText());
        Api.Reply badTime = api.get("/api/v1/audit?from=yesterday", admin);
        assertEquals("from", badTime.json().get("field").asText());

        assertEquals(before, api.get("/api/v1/users", admin).json().size());
        assertEquals(405, api.send("PATCH", "/api/v1/users", admin, null, null).status());
        assertEquals("no_such_route", api.get("/api/v1/volumes-that-do-not-exist", admin).error());
    }

    @Test
    public void pathTraversalAgainstStaticResourcesFindsNothing() throws Exception {
        assertEquals(200, rawGet("/ui/index.html").status);
        assertThat(rawGet("/ui/").body, containsString("js/main.js"));
        for (String attempt : List.of("/ui/../etc/passwd", "/ui/index.html/../../etc/passwd",
                "/ui/./../META-INF/MANIFEST.MF", "/ui/js/../../cairn/web/internal/Json.class", "/ui/js/../../OSGI-INF/x.xml",
                "/ui/..", "/ui/.hidden", "/ui/js/", "/ui/OSGI-INF/", "/ui/WEB-INF/web.xml")) {
            RawReply r = rawGet(attempt);
            assertEquals(attempt + " -> " + r.body, 404, r.status);
            assertThat(r.body, not(containsString("root:")));
            assertThat(r.body, not(containsString("Bundle-")));
        }
        // Paths that climb above the root, encoded separators, backslashes and NUL bytes are
        // refused by Jetty itself as bad requests before any servlet sees them.
        for (String attempt : List.of("/ui/../../../../etc/passwd", "/../../etc/passwd", "/ui/%2e%2e/%2e%2e/etc/passwd",
                "/ui/..%2f..%2fetc%2fpasswd", "/ui/%2e%2e%5cMETA-INF%5cMANIFEST.MF", "/ui/index.html%00.js",
                "/ui/C:\\Windows\\win.ini")) {
            RawReply r = rawGet(attempt);
            assertTrue(attempt + " -> " + r.status, r.status == 404 || r.status == 400);
            assertThat(r.body, not(containsString("root:")));
            assertThat(r.body, not(containsString("Bundle-")));
        }
    }

    @Test
    public void aTokenWorksUntilItIsRevoked() {
        String operator = newName("operator");
        createUser(operator, "operator");
        Api.Reply created = api.post("/api/v1/tokens", Api.basic(operator, PASSWORD),
                Map.of("name", "nightly backup", "lifetimeDays", 7));
        assertEquals(created.toString(), 201, created.status());
        String secret = created.json().get("secret").asText();
        String id = created.json().get("token").get("id").asText();
        assertTrue(created.json().get("token").get("expiresAt").asText().startsWith("20"));

        Api.Reply me = api.get("/api/v1/session", Api.bearer(secret));
        assertEquals(200, me.status());
        assertEquals(operator, me.json().get("user").asText());
        assertTrue("no browser token for scripts", me.json().get("csrfToken").isNull());
        assertNull("scripts get no cookie", me.header("Set-Cookie"));
        assertEquals("tokens carry no CSRF token and need none", 201,
                api.post("/api/v1/tokens", Api.bearer(secret), Map.of("name", "second")).status());
        JsonNode listed = api.get("/api/v1/tokens", Api.bearer(secret)).json();
        assertEquals(2, listed.size());
        assertFalse("secrets are never listed", listed.toString().contains(secret));

        String other = newName("other");
        createUser(other, "operator");
        assertEquals("someone else's token", 404, api.delete("/api/v1/tokens/" + id, Api.basic(other, PASSWORD)).status());
        assertEquals(200, api.get("/api/v1/appliance", Api.bearer(secret)).status());

        assertEquals(204, api.delete("/api/v1/tokens/" + id, Api.bearer(secret)).status());
        Api.Reply after = api.get("/api/v1/appliance", Api.bearer(secret));
        assertEquals(401, after.status());
        assertThat(after.json().get("message").asText(), containsString("revoked"));
        JsonNode audit = api.get("/api/v1/audit?actor=" + operator + "&action=token.*", admin).json();
        assertEquals(3, audit.get("total").asInt()); // two created, one revoked
    }

    @Test
    public void failedLoginsForOneUserAreRateLimited() {
        String victim = newName("victim");
        createUser(victim, "viewer");
        for (int i = 0; i < 5; i++) {
            Api.Reply r = api.get("/api/v1/session", Api.basic(victim, "wrong guess " + i));
            assertEquals(401, r.status());
        }
        Api.Reply blocked = api.get("/api/v1/session", Api.basic(victim, PASSWORD));
        assertEquals(blocked.toString(), 429, blocked.status());
        assertEquals("too_many_attempts", blocked.error());
        assertTrue(Integer.parseInt(blocked.header("Retry-After")) > 0);
        Api.Reply browser = api.post("/api/v1/session", Map.of(), Map.of("user", victim, "password", PASSWORD));
        assertEquals("the login form is blocked too", 429, browser.status());
        assertEquals("other users still log in", 200, api.get("/api/v1/session", Api.basic("admin", adminPassword)).status());
        JsonNode audit = api.get("/api/v1/audit?actor=" + victim + "&action=auth.login", admin).json();
        assertEquals(7, audit.get("total").asInt());
    }

    @Test
    public void failedLoginsFromOneAddressAreRateLimited() throws Exception {
        InetAddress attacker = InetAddress.getByName("127.0.0.2");
        for (int i = 0; i < 20; i++) {
            String auth = Base64.getEncoder().encodeToString(("nobody" + i + ":guess").getBytes(StandardCharsets.UTF_8));
            assertEquals(401, rawGet(attacker, "/api/v1/session", "Authorization: Basic " + auth).status);
        }
        String good = Base64.getEncoder().encodeToString(("admin:" + adminPassword).getBytes(StandardCharsets.UTF_8));
        RawReply blocked = rawGet(attacker, "/api/v1/session", "Authorization: Basic " + good);
        assertEquals(blocked.body, 429, blocked.status);
        assertEquals("another address is not blocked", 200,
                rawGet(InetAddress.getByName("127.0.0.1"), "/api/v1/session", "Authorization: Basic " + good).status);
    }

    @Test
    public void usersAreCreatedListedAndRemovedWithTheirTokens() {
        String name = newName("dana");
        Api.Reply created = api.post("/api/v1/users", admin, Map.of("name", name, "password", PASSWORD, "role", "operator",
                "account", "acme"));
        assertEquals(201, created.status());
        assertEquals("operator", created.json().get("role").asText());
        assertFalse("no hash leaves the appliance", created.raw().body().contains("pbkdf2"));
        assertEquals(409, api.post("/api/v1/users", admin, Map.of("name", name, "password", PASSWORD, "role", "viewer"))
                .status());
        JsonNode mine = api.get("/api/v1/users", Api.basic(name, PASSWORD)).json();
        assertEquals("an operator sees its own account", 1, mine.size());
        String secret = api.post("/api/v1/tokens", Api.basic(name, PASSWORD), Map.of("name", "t")).json().get("secret")
                .asText();
        Api.Reply change = api.put("/api/v1/users/" + name + "/password", Api.bearer(secret),
                Map.of("currentPassword", PASSWORD, "newPassword", "another long password"));
        assertEquals(change.toString(), 204, change.status());
        assertEquals(401, api.get("/api/v1/session", Api.basic(name, PASSWORD)).status());
        assertEquals(200, api.get("/api/v1/session", Api.basic(name, "another long password")).status());
        assertEquals(204, api.delete("/api/v1/users/" + name, admin).status());
        assertEquals("a removed user's tokens stop working", 401, api.get("/api/v1/session", Api.bearer(secret)).status());
    }

    @Test
    public void theAuditLogFiltersAndPages() {
        String actor = newName("auditor");
        createUser(actor, "admin");
        Map<String, String> as = Api.basic(actor, PASSWORD);
        Instant start = Instant.now().minusSeconds(1);
        for (int i = 0; i < 3; i++) {
            assertEquals(201, api.post("/api/v1/tokens", as, Map.of("name", "page " + i)).status());
        }
        JsonNode first = api.get("/api/v1/audit?actor=" + actor + "&action=token.create&limit=2", admin).json();
        assertEquals(3, first.get("total").asInt());
        assertEquals(2, first.get("entries").size());
        JsonNode second = api.get("/api/v1/audit?actor=" + actor + "&action=token.create&limit=2&offset=2", admin).json();
        assertEquals(1, second.get("entries").size());
        assertThat(second.get("entries").get(0).get("detail").asText(), containsString("page 0"));
        JsonNode http = api.get("/api/v1/audit?actor=" + actor + "&action=http.post&from=" + start, admin).json();
        assertEquals("every mutating request is audited", 3, http.get("total").asInt());
        assertEquals(0, api.get("/api/v1/audit?actor=" + actor + "&to=" + start, admin).json().get("total").asInt());
        assertEquals("only admins read the audit log", 403,
                api.get("/api/v1/audit", Api.basic(newOperator(), PASSWORD)).status());
    }

    private static String newOperator() {
        String name = newName("op");
        createUser(name, "operator");
        return name;
    }

    @Test
    public void applianceBundlesHealthAndMetricsDescribeTheRunningAppliance() {
        JsonNode appliance = api.get("/api/v1/appliance", admin).json();
        assertEquals("all-in-one", appliance.get("role").asText());
        assertEquals(36, appliance.get("id").asText().length());
        assertTrue(appliance.get("uptimeSeconds").asLong() >= 0);
        JsonNode bundles = api.get("/api/v1/bundles", admin).json();
        boolean webActive = false;
        for (JsonNode b : bundles) {
            webActive |= b.get("symbolicName").asText().equals("cairn.web") && b.get("state").asText().equals("active");
        }
        assertTrue(bundles.toString(), webActive);
        assertEquals("READY", api.get("/api/v1/health", admin).json().get("status").asText());
        JsonNode metrics = api.get("/api/v1/system/metrics", admin).json();
        assertTrue(metrics.get("diskTotalBytes").asLong() > 0);
        assertTrue(metrics.get("memoryTotalBytes").asLong() > 0);
    }

    @Test
    public void recentLogLinesAndALiveTailOverServerSentEvents() throws Exception {
        JsonNode recent = api.get("/api/v1/logs?lines=500", admin).json();
        assertTrue(recent.get("lines").toString(), recent.get("lines").toString().contains("First boot"));
        assertEquals(3, api.get("/api/v1/logs?lines=3", admin).json().get("lines").size());

        HttpRequest request = HttpRequest.newBuilder(URI.create(api.base() + "/api/v1/logs/stream"))
                .header("Authorization", admin.get("Authorization")).GET().build();
        HttpResponse<InputStream> stream = api.client().send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, stream.statusCode());
        assertThat(stream.headers().firstValue("Content-Type").orElse(""), containsString("text/event-stream"));
        List<String> events = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        events.add(line.substring(6));
                    }
                }
            } catch (Exception closed) {
                // the test closed the stream
            }
        }, "sse-reader");
        reader.start();
        try {
            String name = newName("tailed");
            // Whatever the appliance logs from now on arrives; wait for the line that this creation writes.
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                if (events.stream().noneMatch(e -> e.contains("User '" + name + "'"))) {
                    if (api.get("/api/v1/users/" + name, admin).status() == 404) {
                        createUser(name, "viewer");
                    }
                    return false;
                }
                return true;
            });
        } finally {
            stream.body().close();
            reader.interrupt();
        }
    }

    @Test
    public void theOpenApiDocumentDescribesExactlyTheServedApi() throws Exception {
        Api.Reply doc = api.get("/api/v1/openapi.json", Map.of());
        assertEquals("the document is public", 200, doc.status());
        JsonNode openapi = doc.json();
        assertEquals("3.0.3", openapi.get("openapi").asText());
        JsonNode schemas = openapi.get("components").get("schemas");
        List<String> checked = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = openapi.get("paths").fields(); paths.hasNext();) {
            Map.Entry<String, JsonNode> path = paths.next();
            for (Iterator<Map.Entry<String, JsonNode>> ops = path.getValue().fields(); ops.hasNext();) {
                Map.Entry<String, JsonNode> op = ops.next();
                String method = op.getKey().toUpperCase();
                String concrete = path.getKey().replaceAll("\\{[a-zA-Z]+\\}", "no-such-thing");
                if (concrete.equals("/logs/stream")) {
                    continue; // a stream: checked by recentLogLinesAndALiveTailOverServerSentEvents
                }
                Object body = op.getValue().has("requestBody") ? Map.of() : null;
                Api.Reply r = api.send(method, "/api/v1" + concrete, concrete.equals("/session") && method.equals("DELETE")
                        ? Map.of() : admin, body, body == null ? null : "application/json");
                String what = method + " " + path.getKey() + " -> " + r;
                assertFalse("documented but not served: " + what, r.status() == 405
                        || r.status() == 404 && r.error().equals("no_such_route"));
                String role = op.getValue().get("x-cairn-role").asText();
                if (!role.equals("none")) {
                    assertEquals("documented as authenticated: " + what, 401,
                            api.send(method, "/api/v1" + concrete, Map.of(), body,
                                    body == null ? null : "application/json").status());
                }
                if (method.equals("GET") && !path.getKey().contains("{") && r.status() == 200) {
                    JsonNode schema = op.getValue().get("responses").get("200").get("content").get("application/json")
                            .get("schema");
                    assertMatches(what, schema, r.json(), schemas);
                }
                checked.add(method + " " + path.getKey());
            }
        }
        assertTrue(checked.toString(), checked.containsAll(List.of("GET /appliance", "GET /health", "GET /bundles",
                "GET /users", "POST /users", "GET /tokens", "POST /tokens", "DELETE /tokens/{id}", "GET /audit",
                "GET /logs", "GET /openapi.json", "POST /session")));
        assertEquals("undocumented paths are not served", "no_such_route", api.get("/api/v1/undocumented", admin).error());
    }

    /** Every property a schema requires is in the response, recursively through $refs and arrays. */
    private static void assertMatches(String what, JsonNode schema, JsonNode value, JsonNode schemas) {
        if (schema.has("$ref")) {
            String name = schema.get("$ref").asText().replace("#/components/schemas/", "");
            assertTrue("schema " + name + " is defined", schemas.has(name));
            assertMatches(what, schemas.get(name), value, schemas);
            return;
        }
        String type = schema.path("type").asText();
        if (value.isNull()) {
            return;
        }
        switch (type) {
        case "array" -> {
            assertTrue(what + ": an array", value.isArray());
            for (JsonNode item : value) {
                assertMatches(what, schema.get("items"), item, schemas);
            }
        }
        case "object" -> {
            assertTrue(what + ": an object", value.isObject());
            for (JsonNode required : schema.path("required")) {
                assertTrue(what + ": has " + required.asText(), value.has(required.asText()));
                assertMatches(what, schema.get("properties").get(required.asText()), value.get(required.asText()), schemas);
            }
        }
        case "string" -> assertTrue(what + ": a string " + value, value.isTextual());
        case "integer" -> assertTrue(what + ": an integer " + value, value.isIntegralNumber());
        case "number" -> assertTrue(what + ": a number " + value, value.isNumber());
        case "boolean" -> assertTrue(what + ": a boolean " + value, value.isBoolean());
        default -> {
        }
        }
    }

    // ------------------------------------------------------------------ raw HTTP

    private record RawReply(int status, String body) {
    }

    private static RawReply rawGet(String path) throws Exception {
        return rawGet(InetAddress.getByName("127.0.0.1"), path);
    }

    /** HTTP/1.1 by hand: the path goes out exactly as written, from the given local address. */
    private static RawReply rawGet(InetAddress from, String path, String... headers) throws Exception {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(from, 0));
            s.connect(new InetSocketAddress("127.0.0.1", app.port("http")), 5000);
            s.setSoTimeout(30_000);
            StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
            for (String h : headers) {
                req.append(h).append("\r\n");
            }
            req.append("\r\n");
            OutputStream out = s.getOutputStream();
            out.write(req.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            int status = Integer.parseInt(response.split(" ", 3)[1]);
            int bodyStart = response.indexOf("\r\n\r\n");
            return new RawReply(status, bodyStart < 0 ? "" : response.substring(bodyStart + 4));
        }
    }
}
