package cairn.itests.osgi;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.junit.Before;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.ConflictException;
import cairn.platform.api.errors.ForbiddenException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.AuthenticationException;
import cairn.platform.api.security.AuthorizedKey;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.IssuedToken;
import cairn.platform.api.security.LoginThrottledException;
import cairn.platform.api.security.Role;
import cairn.platform.api.security.User;
import cairn.platform.api.security.UserService;

/** Users, tokens and SSH keys of cairn.platform on the real bundle set, with keys made by ssh-keygen. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class UserServiceTest {

    private static final String PASSWORD = "correct horse battery";
    /** Inside the framework the data directory is the one the test JVM chose; see {@link #data()}. */
    private Path data;

    @Inject
    private BundleContext context;

    @Inject
    private UserService users;
    @Inject
    private AuditLog audit;
    @Inject
    private ReadinessService readiness;

    @Configuration
    public Option[] config() {
        return RoleBundles.allInOne(RoleBundles.newDataDirectory());
    }

    @Before
    public void data() throws Exception {
        data = Path.of(context.getProperty("cairn.data"));
        // The initial admin is created off the start-level thread; readiness waits for it.
        Eventually.await("ready", Duration.ofSeconds(60), () -> readiness.report().ready());
    }

    private Caller admin() {
        return users.authenticate("admin", initialPassword(), "127.0.0.10");
    }

    private String initialPassword() {
        try {
            return Files.readString(data.resolve("initial-admin-password"), StandardCharsets.UTF_8).strip();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void firstBootWritesTheAdminPasswordOncePrivately() throws Exception {
        Path file = data.resolve("initial-admin-password");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        String content = Files.readString(file, StandardCharsets.UTF_8);
        assertTrue("password and a newline", content.endsWith("\n") && content.strip().length() >= 20);
        assertEquals(1, content.lines().count());
        Caller admin = admin();
        assertEquals(Role.ADMIN, admin.role());
        assertEquals("127.0.0.10", admin.source());
        assertFalse(Files.exists(data.resolve("initial-admin-password.tmp")));
    }

    @Test
    public void adminCreatesUsersAndViewersChangeNothing() {
        Caller admin = admin();
        User created = users.create(admin, "vera", PASSWORD, Role.VIEWER, "acme");
        assertEquals("acme", created.account());
        Caller vera = users.authenticate("vera", PASSWORD, "127.0.0.11");
        assertEquals(Role.VIEWER, vera.role());
        assertEquals("acme", vera.account());

        try {
            users.create(vera, "mallory", PASSWORD, Role.ADMIN, "acme");
            fail("a viewer must not create users");
        } catch (ForbiddenException expected) {
            assertThat(expected.getMessage(), containsString("admin"));
        }
        try {
            users.get(vera, "mallory");
            fail("mallory was not created");
        } catch (NotFoundException expected) {
            // nothing was written
        }
        List<AuditEntry> refused = audit.query(new AuditQuery(null, null, "vera", "user.create", 0, 10)).entries();
        assertEquals("forbidden", refused.get(0).result());

        assertTrue("a viewer sees its own account only",
                users.list(vera).stream().allMatch(u -> u.account().equals("acme")));
        assertTrue(users.list(admin).stream().anyMatch(u -> u.name().equals("admin")));
        try {
            users.get(vera, "admin");
            fail("admin belongs to another account");
        } catch (NotFoundException expected) {
            // other accounts are invisible
        }
        AuditEntry createdEntry = audit.query(new AuditQuery(null, null, "admin", "user.create", 0, 10)).entries()
                .stream().filter(e -> e.target().equals("vera")).findFirst().orElseThrow();
        assertEquals("ok", createdEntry.result());
        assertEquals("127.0.0.10", createdEntry.source());
    }

    @Test
    public void invalidInputNamesTheFieldAndChangesNothing() {
        Caller admin = admin();
        int before = users.list(admin).size();
        assertField("name", () -> users.create(admin, "<script>alert(1)</script>", PASSWORD, Role.VIEWER, null));
        assertField("name", () -> users.create(admin, "", PASSWORD, Role.VIEWER, null));
        assertField("password", () -> users.create(admin, "shorty", "short", Role.VIEWER, null));
        assertField("role", () -> users.create(admin, "norole", PASSWORD, null, null));
        assertField("account", () -> users.create(admin, "badacct", PASSWORD, Role.VIEWER, "Bad Account"));
        assertField("role", () -> Role.parse("superuser"));
        assertEquals(before, users.list(admin).size());

        users.create(admin, "dup", PASSWORD, Role.OPERATOR, null);
        try {
            users.create(admin, "dup", PASSWORD + "x", Role.ADMIN, null);
            fail("duplicate name");
        } catch (ConflictException expected) {
            assertEquals("user_exists", expected.code());
        }
        assertEquals(Role.OPERATOR, users.get(admin, "dup").role());
    }

    @Test
    public void usersChangeTheirOwnPasswordWithTheCurrentOne() {
        Caller admin = admin();
        users.create(admin, "olga", PASSWORD, Role.OPERATOR, null);
        Caller olga = users.authenticate("olga", PASSWORD, "127.0.0.12");
        assertField("currentPassword", () -> users.changePassword(olga, "olga", "wrong password!", "a new long password"));
        try {
            users.changePassword(olga, "admin", null, "a new long password");
            fail("an operator must not reset another user's password");
        } catch (ForbiddenException expected) {
            // refused
        }
        users.changePassword(olga, "olga", PASSWORD, "a new long password");
        users.authenticate("olga", "a new long password", "127.0.0.12");
        try {
            users.authenticate("olga", PASSWORD, "127.0.0.12");
            fail("the old password, although verified a moment ago, no longer works");
        } catch (AuthenticationException expected) {
            // the remembered verification was for the old hash
        }
        users.changePassword(admin, "olga", null, "reset by the admin");
        users.authenticate("olga", "reset by the admin", "127.0.0.12");
    }

    @Test
    public void theLastAdminCannotBeRemoved() {
        Caller admin = admin();
        users.create(admin, "temp", PASSWORD, Role.VIEWER, null);
        users.remove(admin, "temp");
        try {
            users.get(admin, "temp");
            fail("removed");
        } catch (NotFoundException expected) {
            // gone
        }
        try {
            users.remove(admin, "admin");
            fail("the last admin must stay");
        } catch (ConflictException expected) {
            assertEquals("last_admin", expected.code());
        }
        assertEquals(Role.ADMIN, admin().role());
    }

    @Test
    public void aTokenWorksUntilRevokedAndOnlyItsOwnerOrAnAdminRevokesIt() {
        Caller admin = admin();
        users.create(admin, "tom", PASSWORD, Role.OPERATOR, "acme");
        users.create(admin, "tim", PASSWORD, Role.OPERATOR, "acme");
        Caller tom = users.authenticate("tom", PASSWORD, "127.0.0.13");
        Caller tim = users.authenticate("tim", PASSWORD, "127.0.0.13");
        IssuedToken token = users.createToken(tom, null, "backup script", Duration.ofDays(30));
        assertTrue(token.secret().length() > 40);
        assertNull(token.token().lastUsedAt());

        Caller viaToken = users.authenticateToken(token.secret(), "127.0.0.13");
        assertEquals("tom", viaToken.user());
        assertEquals(Role.OPERATOR, viaToken.role());
        assertEquals("acme", viaToken.account());
        assertTrue(users.listTokens(tom, null).stream().anyMatch(t -> t.id().equals(token.token().id())
                && t.lastUsedAt() != null));
        assertFalse("the secret is not listed", users.listTokens(admin, null).toString().contains(token.secret()));

        try {
            users.revokeToken(tim, token.token().id());
            fail("another user's token");
        } catch (NotFoundException expected) {
            // not confirmed to strangers
        }
        try {
            users.createToken(tim, "tom", "sneaky", null);
            fail("tokens for someone else need an admin");
        } catch (ForbiddenException expected) {
            // refused
        }
        users.revokeToken(tom, token.token().id());
        try {
            users.authenticateToken(token.secret(), "127.0.0.13");
            fail("revoked");
        } catch (AuthenticationException expected) {
            assertThat(expected.getMessage(), containsString("revoked"));
        }
        IssuedToken forTim = users.createToken(admin, "tim", "made by admin", null);
        assertEquals("tim", users.authenticateToken(forTim.secret(), "127.0.0.13").user());
        users.revokeToken(admin, forTim.token().id());
        assertField("name", () -> users.createToken(tom, null, "", null));
        assertField("lifetime", () -> users.createToken(tom, null, "x", Duration.ofSeconds(-5)));
    }

    @Test
    public void failedLoginsAreThrottledPerUserAndAudited() {
        users.create(admin(), "rita", PASSWORD, Role.VIEWER, null);
        for (int i = 0; i < 5; i++) {
            try {
                users.authenticate("rita", "guess number " + i, "127.0.0.20");
                fail("wrong password");
            } catch (AuthenticationException expected) {
                assertThat(expected.getMessage(), containsString("wrong user name or password"));
            }
        }
        try {
            users.authenticate("rita", PASSWORD, "127.0.0.21");
            fail("the right password is refused while the user is blocked");
        } catch (LoginThrottledException expected) {
            assertEquals(CairnException.Kind.THROTTLED, expected.kind());
            assertTrue(expected.retryAfter().toSeconds() > 200);
        }
        List<AuditEntry> failures = audit.query(new AuditQuery(null, null, "rita", "auth.login", 0, 100)).entries();
        assertEquals(5, failures.stream().filter(e -> e.result().equals("denied")).count());
        assertEquals(1, failures.stream().filter(e -> e.result().equals("throttled")).count());
        assertEquals("another user is not affected", Role.ADMIN, admin().role());
    }

    @Test
    public void failedLoginsAreThrottledPerSource() {
        for (int i = 0; i < 20; i++) {
            try {
                users.authenticate("nobody" + i, "guess", "ssh:127.0.0.30");
                fail("no such user");
            } catch (AuthenticationException expected) {
                // counted against the source
            }
        }
        try {
            users.authenticate("admin", initialPassword(), "127.0.0.30");
            fail("the source is blocked, whatever its form");
        } catch (LoginThrottledException expected) {
            // blocked
        }
    }

    @Test
    public void sshKeysFromSshKeygenAreStoredWithTheirFingerprintAndAuthenticate() throws Exception {
        Caller admin = admin();
        users.create(admin, "kim", PASSWORD, Role.OPERATOR, null);
        Caller kim = users.authenticate("kim", PASSWORD, "127.0.0.14");
        Path dir = Files.createTempDirectory(data, "keys");
        for (String[] kind : List.of(new String[] { "ed25519", "256" }, new String[] { "rsa", "3072" },
                new String[] { "ecdsa", "256" }, new String[] { "ecdsa", "384" }, new String[] { "ecdsa", "521" })) {
            Path key = dir.resolve(kind[0] + kind[1]);
            run("ssh-keygen", "-q", "-t", kind[0], "-b", kind[1], "-N", "", "-C", "kim@laptop <" + kind[0] + ">", "-f",
                    key.toString());
            String line = Files.readString(Path.of(key + ".pub")).strip();
            AuthorizedKey added = users.addKey(kim, null, line);
            String expected = run("ssh-keygen", "-l", "-E", "sha256", "-f", key + ".pub").split(" ")[1];
            assertEquals(kind[0], expected, added.fingerprint());
            assertEquals("kim@laptop <" + kind[0] + ">", added.comment());

            PublicKey offered = jdkKey(key, line);
            assertEquals("kim", users.authenticateKey("kim", offered, "ssh:127.0.0.14").user());
            try {
                users.authenticateKey("admin", offered, "ssh:127.0.0.14");
                fail("the key belongs to kim only");
            } catch (AuthenticationException expectedFailure) {
                // not admin's key
            }
        }
        assertEquals(5, users.listKeys(kim, null).size());

        Path other = dir.resolve("other");
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other.toString());
        PublicKey stranger = jdkKey(other, Files.readString(Path.of(other + ".pub")).strip());
        try {
            users.authenticateKey("kim", stranger, "ssh:127.0.0.14");
            fail("an unknown key");
        } catch (AuthenticationException expected) {
            // refused
        }

        String ed = Files.readString(dir.resolve("ed25519256.pub")).strip();
        try {
            users.addKey(kim, null, ed);
            fail("the same key twice");
        } catch (ConflictException expected) {
            assertEquals("key_exists", expected.code());
        }
        assertField("publicKey", () -> users.addKey(kim, null, "ssh-ed25519 AAAAnotbase64!!"));
        assertField("publicKey", () -> users.addKey(kim, null, "ssh-dss AAAAB3NzaC1kc3M= old"));
        assertField("publicKey", () -> users.addKey(kim, null, "ssh-rsa " + ed.split(" ")[1]));
        assertField("publicKey", () -> users.addKey(kim, null, "from=\"10.0.0.1\" " + ed));

        String fingerprint = users.listKeys(kim, null).get(0).fingerprint();
        try {
            users.removeKey(admin,
                    "kim", "SHA256:doesnotexist");
            fail("no such key");
        } catch (NotFoundException expected) {
            // nothing removed
        }
        users.removeKey(kim, null, fingerprint);
        assertEquals(4, users.listKeys(kim, null).size());
        assertEquals(1, audit.query(new AuditQuery(null, null, "kim", "key.remove", 0, 10)).total());
    }

    /** The key as an SSH server's provider hands it over: from the PEM that ssh-keygen exports, or raw Ed25519 bytes. */
    private static PublicKey jdkKey(Path key, String line) throws Exception {
        if (line.startsWith("ssh-ed25519 ")) {
            byte[] blob = Base64.getDecoder().decode(line.split(" ")[1]);
            byte[] raw = Arrays.copyOfRange(blob, blob.length - 32, blob.length);
            byte[] spki = new byte[44];
            System.arraycopy(new byte[] { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 }, 0,
                    spki, 0, 12);
            System.arraycopy(raw, 0, spki, 12, 32);
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        }
        String pem = run("ssh-keygen", "-e", "-m", "PKCS8", "-f", key + ".pub");
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").strip());
        return KeyFactory.getInstance(line.startsWith("ssh-rsa") ? "RSA" : "EC")
                .generatePublic(new X509EncodedKeySpec(der));
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("finished: " + String.join(" ", command), p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        return out;
    }

    private static void assertField(String field, Runnable action) {
        try {
            action.run();
            fail("expected an invalid " + field);
        } catch (InvalidInputException expected) {
            assertEquals(expected.getMessage(), field, expected.field());
        }
    }
}
