package cairn.itests.system;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.CoreMatchers.not;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;

/**
 * The SSH console of a running appliance, used with the real OpenSSH client as an
 * operator would: logins by password and by key, exec with exit statuses, roles, JSON.
 */
public class ConsoleSshTest {

    @ClassRule
    public static TemporaryFolder shared = new TemporaryFolder();

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private static ApplianceProcess app;
    private static Ssh ssh;
    private static String adminPassword;
    private final ObjectMapper json = new ObjectMapper();

    @BeforeClass
    public static void startAppliance() throws Exception {
        app = ApplianceProcess.create(shared.getRoot().toPath()).startAndAwaitReady();
        ssh = new Ssh(app.port("ssh"), shared.newFolder("ssh").toPath());
        adminPassword = app.initialAdminPassword();
    }

    @AfterClass
    public static void stopAppliance() {
        if (app != null) {
            app.stop();
        }
    }

    private static Ssh.Result admin(String command) {
        return ssh.password("admin", adminPassword, command);
    }

    /** Creates a user through the console and returns its password. */
    private static String createUser(String name, String role) {
        String password = name + "-password-1234";
        Ssh.Result r = admin("user:add --role " + role + " --password " + password + " " + name);
        assertEquals(r.toString(), 0, r.status());
        return password;
    }

    @Test
    public void passwordLoginRunsACommandAndReturnsItsOutput() {
        Ssh.Result r = admin("cairn:status");
        assertEquals(r.toString(), 0, r.status());
        assertThat(r.out(), containsString("status:"));
        assertThat(r.out(), containsString("ready"));
        assertEquals("", r.err());
    }

    @Test
    public void aWrongPasswordIsRefused() {
        createUser("wendy", "viewer");
        Ssh.Result r = ssh.password("wendy", "not-the-password-at-all", "cairn:status");
        assertNotEquals(r.toString(), 0, r.status());
        assertThat(r.out(), not(containsString("status:")));
        Ssh.Result audit = admin("audit:tail -n 50 --actor wendy");
        assertThat("the failed login is audited", audit.out(), containsString("wendy"));
    }

    @Test
    public void aKeyAddedThroughTheConsoleLogsInAndAnUnknownKeyDoesNot() throws Exception {
        createUser("kim", "operator");
        Path key = ssh.newKey("kim-key");
        Ssh.Result added = admin("user:key-add kim '" + Ssh.publicKey(key) + "'");
        assertEquals(added.toString(), 0, added.status());
        assertThat(added.out(), containsString("SHA256:"));

        Ssh.Result in = ssh.key("kim", key, "cairn:status");
        assertEquals(in.toString(), 0, in.status());
        assertThat(in.out(), containsString("version:"));

        Path stranger = ssh.newKey("stranger-key");
        Ssh.Result refused = ssh.key("kim", stranger, "cairn:status");
        assertEquals(refused.toString(), 255, refused.status());
        assertThat(refused.err(), containsString("Permission denied"));

        // after removal the key no longer logs in
        String fingerprint = json.readTree(admin("user:keys kim --json").out()).get(0).get("fingerprint").asText();
        assertEquals(0, admin("user:key-remove kim " + fingerprint).status());
        assertEquals(255, ssh.key("kim", key, "cairn:status").status());
    }

    @Test
    public void errorsAreOneLineWithANonZeroExitStatus() {
        Ssh.Result missing = admin("user:remove nobody-by-that-name");
        assertEquals(missing.toString(), 4, missing.status());
        assertEquals(1, missing.err().strip().lines().count());
        assertThat(missing.err(), containsString("nobody-by-that-name"));
        assertThat(missing.err(), not(containsString("Exception")));

        Ssh.Result unknown = admin("volume:explode");
        assertEquals(unknown.toString(), 127, unknown.status());
        assertThat(unknown.err(), containsString("unknown command 'volume:explode'"));

        Ssh.Result weak = admin("user:add --password short shorty");
        assertEquals(weak.toString(), 2, weak.status());
        assertEquals(1, weak.err().strip().lines().count());

        Ssh.Result badRole = admin("user:add --role superuser --password long-enough-password x1");
        assertEquals(badRole.toString(), 2, badRole.status());
        assertThat(badRole.err(), containsString("admin, operator, viewer"));
    }

    @Test
    public void aViewerMayReadButIsRefusedMutatingAndFrameworkCommands() {
        String password = createUser("vera", "viewer");
        Ssh.Result status = ssh.password("vera", password, "cairn:status");
        assertEquals(status.toString(), 0, status.status());
        assertEquals(0, ssh.password("vera", password, "bundle:list").status());

        Ssh.Result add = ssh.password("vera", password, "user:add --password another-password-1 eve");
        assertEquals(add.toString(), 3, add.status());
        assertEquals("error: user:add needs the admin role; vera is viewer", add.err().strip());

        Ssh.Result stop = ssh.password("vera", password, "felix:stop 1");
        assertEquals(stop.toString(), 3, stop.status());
        assertThat(stop.err(), containsString("needs the admin role"));

        // nor can the Gogo language reach Java behind the commands' backs
        Ssh.Result reflect = ssh.password("vera", password, "'text' getClass");
        assertEquals(reflect.toString(), 2, reflect.status());
        assertThat(reflect.err(), containsString("calling methods on values is not available"));

        // help shows only what a viewer may run
        Ssh.Result help = ssh.password("vera", password, "help");
        assertThat(help.out(), containsString("cairn:status"));
        assertThat(help.out(), not(containsString("user:add")));
    }

    @Test
    public void jsonOutputParsesForScripts() throws Exception {
        JsonNode users = json.readTree(admin("user:list --json").out());
        assertTrue(users.isArray());
        assertTrue(users.toString(), users.findValuesAsText("name").contains("admin"));

        JsonNode status = json.readTree(admin("cairn:status --json").out());
        assertEquals("READY", status.get("status").asText());
        assertEquals(36, status.get("id").asText().length());

        JsonNode health = json.readTree(admin("cairn:health --json").out());
        assertTrue(health.get("checks").findValuesAsText("name").contains("ssh"));

        JsonNode bundles = json.readTree(admin("bundle:list --json").out());
        assertTrue(bundles.findValuesAsText("name").contains("cairn.console"));
    }

    @Test
    public void mutatingCommandsAreAuditedOnceWithoutTheirSecrets() throws Exception {
        createUser("audrey", "viewer");
        JsonNode entries = json.readTree(admin("audit:tail -n 200 --json").out());
        List<JsonNode> creates = new ArrayList<>();
        for (JsonNode e : entries) {
            if (e.get("target").asText().equals("audrey") && e.get("action").asText().equals("user.create")) {
                creates.add(e);
            }
        }
        assertEquals(entries.toString(), 1, creates.size());
        JsonNode add = creates.get(0);
        assertEquals("admin", add.get("actor").asText());
        assertEquals("ok", add.get("result").asText());
        assertThat(add.get("source").asText(), containsString("ssh:127.0.0.1"));
        assertThat("the user service records it; the console does not record it again",
                entries.toString(), not(containsString("console.user.add")));
        assertThat(entries.toString(), not(containsString("audrey-password-1234")));
    }

    @Test
    public void passwordsChangeByAdminAndByTheirOwner() {
        String old = createUser("otto", "operator");
        // an admin sets anyone's password
        Ssh.Result reset = admin("user:passwd --password otto-second-pass-1 otto");
        assertEquals(reset.toString(), 0, reset.status());
        assertNotEquals(0, ssh.password("otto", old, "cairn:status").status());
        // an operator changes their own, proving the current one
        Ssh.Result wrong = ssh.password("otto", "otto-second-pass-1",
                "user:passwd --current not-my-password --password otto-third-pass-12 otto");
        assertNotEquals(wrong.toString(), 0, wrong.status());
        Ssh.Result own = ssh.password("otto", "otto-second-pass-1",
                "user:passwd --current otto-second-pass-1 --password otto-third-pass-12 otto");
        assertEquals(own.toString(), 0, own.status());
        assertEquals(0, ssh.password("otto", "otto-third-pass-12", "cairn:status").status());
        // a viewer changes their own password too, but nobody else's
        String viv = createUser("viv", "viewer");
        Ssh.Result others = ssh.password("viv", viv, "user:passwd --password viv-tries-otto-12 otto");
        assertEquals(others.toString(), 3, others.status());
        assertEquals(0, ssh.password("otto", "otto-third-pass-12", "cairn:status").status());
        Ssh.Result mine = ssh.password("viv", viv,
                "user:passwd --current " + viv + " --password viv-second-pass-1 viv");
        assertEquals(mine.toString(), 0, mine.status());
        assertEquals(0, ssh.password("viv", "viv-second-pass-1", "cairn:status").status());
    }

    @Test
    public void aPasswordCanComeFromStandardInput() {
        Ssh.Result r = ssh.password("admin", adminPassword, "user:add --role viewer piped", "piped-password-123\n");
        assertEquals(r.toString(), 0, r.status());
        assertEquals(0, ssh.password("piped", "piped-password-123", "cairn:status").status());
    }

    @Test
    public void helpDescribesEveryCommandAndItsOptions() {
        Ssh.Result all = admin("help");
        for (String c : List.of("cairn:status", "cairn:health", "bundle:list", "user:list", "user:add", "user:passwd",
                "user:remove", "user:key-add", "user:key-remove", "audit:tail", "log:tail")) {
            assertThat(all.out(), containsString(c));
        }
        Ssh.Result add = admin("help user:add");
        assertThat(add.out(), containsString("--role"));
        assertThat(add.out(), containsString("--password"));
        assertThat(admin("log:tail --help").out(), containsString("--no-follow"));
    }

    @Test
    public void logTailShowsTheLastLinesOfTheApplianceLog() {
        Ssh.Result r = admin("log:tail -n 3 --no-follow");
        assertEquals(r.toString(), 0, r.status());
        assertEquals(r.out(), 3, r.out().lines().count());
    }

    @Test
    public void theHostKeyIsKeptAcrossRestarts() throws Exception {
        Path data = tmp.getRoot().toPath().resolve("data");
        String before;
        try (ApplianceProcess first = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            before = new Ssh(first.port("ssh"), tmp.newFolder("a").toPath()).hostKeys();
            assertThat(before, containsString("ecdsa-sha2-nistp256"));
            assertEquals(0, first.stop());
        }
        Path keyFile = data.resolve("tls/ssh_host_ecdsa_key");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile)));
        try (ApplianceProcess again = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            String after = new Ssh(again.port("ssh"), tmp.newFolder("b").toPath()).hostKeys();
            // same key on a new port: compare the key material, not the "[host]:port" prefix
            assertEquals(keyPart(before), keyPart(after));
        }
        // another appliance has a key of its own
        assertNotEquals(keyPart(before), keyPart(ssh.hostKeys()));
    }

    private static String keyPart(String keyscan) {
        return keyscan.lines().map(l -> l.substring(l.indexOf(' ') + 1)).sorted().reduce("", (a, b) -> a + b + "\n");
    }
}
