package cairn.platform.internal.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.sql.DataSource;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.platform.api.AppliancePaths;
import cairn.platform.api.PlatformPids;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.ConflictException;
import cairn.platform.api.errors.ForbiddenException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;
import cairn.platform.api.metadata.MigrationException;
import cairn.platform.api.metadata.SchemaMigrations;
import cairn.platform.api.security.ApiToken;
import cairn.platform.api.security.AuthenticationException;
import cairn.platform.api.security.AuthorizedKey;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.IssuedToken;
import cairn.platform.api.security.LoginThrottledException;
import cairn.platform.api.security.Role;
import cairn.platform.api.security.User;
import cairn.platform.api.security.UserService;

/**
 * Users, API tokens and SSH keys in Derby. On first boot (no users yet) it creates
 * {@code admin} with a random password written to {@code DATA/initial-admin-password}.
 *
 * <p>Hashing that first password (hundreds of thousands of PBKDF2 rounds on a JVM that has
 * not compiled SHA-512 yet) is the slowest single step of a first boot, so it runs on its own
 * thread instead of the framework's start-level thread, while the other bundles start. The
 * component is also the {@code users} health check, which fails until the initial admin
 * exists: readiness waits for it, so the file exists before the appliance reports READY.
 */
@Component(immediate = true, configurationPid = UserServiceImpl.PID,
        service = {UserService.class, HealthCheck.class}, property = HealthCheck.NAME + "=users")
@Designate(ocd = UserServiceImpl.Config.class)
public class UserServiceImpl implements UserService, HealthCheck {

    public static final String PID = PlatformPids.USERS;
    static final String SCHEMA = "platform";
    static final String INITIAL_PASSWORD_FILE = "initial-admin-password";
    static final String INITIAL_ADMIN = "admin";
    static final String DEFAULT_ACCOUNT = "default";
    private static final String TOKEN_PREFIX = "cairn_";
    private static final int MIN_PASSWORD = 12;
    private static final int MAX_PASSWORD = 1024;
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9._-]{0,31}");
    private static final Pattern ACCOUNT = Pattern.compile("[a-z][a-z0-9._-]{0,63}");
    private static final Duration MAX_TOKEN_LIFETIME = Duration.ofDays(3650);
    /** Last-use times are written at most this often, so busy scripts do not write on every request. */
    private static final Duration LAST_USED_RESOLUTION = Duration.ofMinutes(1);
    /** How long a verified password is remembered (see {@link #verifiedKey}). */
    private static final Duration VERIFIED_FOR = Duration.ofMinutes(2);
    private static final int MAX_VERIFIED = 1000;
    private static final Logger LOG = LoggerFactory.getLogger(UserServiceImpl.class);

    @ObjectClassDefinition(name = "Cairn users", description = "Password hashing and login throttling")
    public @interface Config {
        @AttributeDefinition(description = "PBKDF2-HMAC-SHA512 iterations for new password hashes", min = "10000")
        int passwordIterations() default 210_000;

        @AttributeDefinition(description = "Failed logins for one user name within the window before it is blocked",
                min = "1")
        int maxFailuresPerUser() default 5;

        @AttributeDefinition(description = "Failed logins from one source address within the window before it is blocked",
                min = "1")
        int maxFailuresPerSource() default 20;

        @AttributeDefinition(description = "Seconds a failed login counts against its user and source", min = "1")
        int failureWindowSeconds() default 300;
    }

    private final DataSource db;
    private final AuditLog audit;
    private volatile PasswordHasher hasher;
    private volatile LoginThrottle throttle;
    private final SecureRandom random = new SecureRandom();
    private final byte[] verifiedSecret = randomBytes(32);
    private final Map<String, Instant> verified = new ConcurrentHashMap<>();
    /** Completes when the initial admin exists (at once on every boot but the first). */
    private final CompletableFuture<Void> initialAdmin = new CompletableFuture<>();
    private final ExecutorService firstBoot;

    @Activate
    public UserServiceImpl(BundleContext context,
            @Reference(target = "(" + SchemaMigrations.DB_PROPERTY + "=" + SchemaMigrations.MAIN_DB + ")") DataSource db,
            @Reference SchemaMigrations migrations, @Reference AuditLog audit, Config config)
            throws MigrationException, SQLException {
        this.db = db;
        this.audit = audit;
        this.hasher = new PasswordHasher(config.passwordIterations(), random);
        this.throttle = new LoginThrottle(config.maxFailuresPerUser(), config.maxFailuresPerSource(),
                Duration.ofSeconds(config.failureWindowSeconds()), Clock.systemUTC());
        migrations.migrate(SCHEMA, context.getBundle());
        String data = context.getProperty(AppliancePaths.DATA);
        Path dataDir = data == null ? Path.of("data") : Path.of(data);
        if (hasUsers()) {
            firstBoot = null;
            initialAdmin.complete(null);
        } else {
            firstBoot = Executors.newSingleThreadExecutor(r -> new Thread(r, "cairn-initial-admin"));
            firstBoot.execute(() -> {
                try {
                    createInitialAdmin(dataDir);
                    initialAdmin.complete(null);
                } catch (SQLException | RuntimeException e) {
                    LOG.error("Could not create the initial user '{}': {}", INITIAL_ADMIN, e.getMessage(), e);
                    initialAdmin.completeExceptionally(e);
                }
            });
        }
    }

    /**
     * New settings apply in place: restarting the component would take the user service away
     * from the web API and the console (and every session with it) for a hashing setting.
     * Failed logins counted so far still count under the new limits.
     */
    @Modified
    void modified(Config config) {
        this.hasher = new PasswordHasher(config.passwordIterations(), random);
        this.throttle = throttle.withLimits(config.maxFailuresPerUser(), config.maxFailuresPerSource(),
                Duration.ofSeconds(config.failureWindowSeconds()));
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        if (firstBoot != null) {
            firstBoot.shutdown();
            // Let a started hash and insert finish: stopping half way would leave a password
            // file without its user, which the next boot would only replace.
            if (!firstBoot.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn("The initial user was still being created when the component stopped");
            }
        }
    }

    @Override
    public HealthCheckResult check() {
        if (!initialAdmin.isDone()) {
            return HealthCheckResult.failed("creating the initial user '" + INITIAL_ADMIN + "'");
        }
        if (initialAdmin.isCompletedExceptionally()) {
            return HealthCheckResult.failed("the initial user '" + INITIAL_ADMIN + "' could not be created (see the log)");
        }
        return HealthCheckResult.ok("user store ready");
    }

    // ------------------------------------------------------------------ first boot

    private boolean hasUsers() throws SQLException {
        try (Connection c = db.getConnection()) {
            return count(c, "SELECT COUNT(*) FROM USERS") > 0;
        }
    }

    private void createInitialAdmin(Path data) throws SQLException {
        try (Connection c = db.getConnection()) {
            String password = randomSecret(18);
            Path file = data.resolve(INITIAL_PASSWORD_FILE);
            // The file first: a crash before the insert leaves no admin, and the next boot
            // writes a new file. The other order could leave an admin nobody knows the password of.
            writePrivately(file, password + "\n");
            Instant now = now();
            try (PreparedStatement p = c.prepareStatement("INSERT INTO USERS (NAME, ACCOUNT, ROLE, PASSWORD_HASH, "
                    + "CREATED_AT, PASSWORD_CHANGED_AT) VALUES (?,?,?,?,?,?)")) {
                p.setString(1, INITIAL_ADMIN);
                p.setString(2, DEFAULT_ACCOUNT);
                p.setString(3, Role.ADMIN.id());
                p.setString(4, hasher.hash(password.toCharArray()));
                p.setTimestamp(5, Timestamp.from(now));
                p.setTimestamp(6, Timestamp.from(now));
                p.executeUpdate();
            }
            audit.record(AuditEntry.of("system", "local", "user.create", INITIAL_ADMIN, "ok",
                    "first boot: initial admin, password in " + file));
            LOG.info("Created the initial user '{}'; its password is in {} (change it after logging in)",
                    INITIAL_ADMIN, file);
        }
    }

    private static void writePrivately(Path file, String content) {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    // ------------------------------------------------------------------ authentication

    @Override
    public Caller authenticate(String user, String password, String source) {
        String name = user == null ? "" : user.strip();
        checkNotThrottled(name, source, "password");
        Optional<StoredUser> stored = name.isEmpty() || password == null ? Optional.empty() : findUser(name);
        char[] secret = password == null ? new char[0] : password.toCharArray();
        if (stored.isEmpty()) {
            hasher.verifyDecoy(secret);
        } else {
            String proof = verifiedKey(name, password, stored.get().hash);
            Instant until = verified.get(proof);
            if (until != null && until.isAfter(Instant.now()) || hasher.verify(secret, stored.get().hash)) {
                rememberVerified(proof);
                throttle.succeeded(name);
                return stored.get().caller(source);
            }
        }
        throttle.failed(name, source);
        auditLogin(name, source, "denied", "password");
        throw new AuthenticationException("wrong user name or password");
    }

    @Override
    public Caller authenticateToken(String secret, String source) {
        checkNotThrottled(null, source, "token");
        if (secret != null && secret.startsWith(TOKEN_PREFIX) && secret.length() < 200) {
            String hash = sha256(secret);
            try (Connection c = db.getConnection();
                    PreparedStatement p = c.prepareStatement("SELECT T.ID, T.EXPIRES_AT, T.LAST_USED_AT, U.NAME, "
                            + "U.ACCOUNT, U.ROLE FROM API_TOKENS T JOIN USERS U ON U.NAME = T.OWNER "
                            + "WHERE T.SECRET_HASH = ?")) {
                p.setString(1, hash);
                try (ResultSet rs = p.executeQuery()) {
                    if (rs.next()) {
                        Instant expires = instant(rs.getTimestamp(2));
                        Instant lastUsed = instant(rs.getTimestamp(3));
                        Instant now = now();
                        if (expires == null || now.isBefore(expires)) {
                            if (lastUsed == null || lastUsed.plus(LAST_USED_RESOLUTION).isBefore(now)) {
                                touchToken(c, rs.getString(1), now);
                            }
                            return new Caller(rs.getString(4), rs.getString(5), Role.parse(rs.getString(6)), source);
                        }
                    }
                }
            } catch (SQLException e) {
                throw unavailable(e);
            }
        }
        throttle.failed(null, source);
        auditLogin("-", source, "denied", "token");
        throw new AuthenticationException("invalid, expired or revoked token");
    }

    /**
     * A key that does not match is audited but not counted against the user: SSH clients
     * offer every key they hold in turn, and guessing a key is not a threat a counter stops.
     */
    @Override
    public Caller authenticateKey(String user, PublicKey key, String source) {
        String name = user == null ? "" : user.strip();
        checkNotThrottled(name, source, "publickey");
        Optional<byte[]> blob = key == null ? Optional.empty() : OpenSshKeys.blobOf(key);
        Optional<StoredUser> stored = name.isEmpty() ? Optional.empty() : findUser(name);
        if (blob.isPresent() && stored.isPresent()) {
            String fingerprint = OpenSshKeys.fingerprint(blob.get());
            try (Connection c = db.getConnection();
                    PreparedStatement p = c.prepareStatement(
                            "SELECT PUBLIC_KEY FROM AUTHORIZED_KEYS WHERE OWNER = ? AND FINGERPRINT = ?")) {
                p.setString(1, name);
                p.setString(2, fingerprint);
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        if (MessageDigest.isEqual(OpenSshKeys.parse(rs.getString(1)).blob(), blob.get())) {
                            return stored.get().caller(source);
                        }
                    }
                }
            } catch (SQLException e) {
                throw unavailable(e);
            }
        }
        auditLogin(name, source, "denied", "publickey" + (key == null ? "" : " " + key.getAlgorithm()));
        throw new AuthenticationException("the key is not authorized for this user");
    }

    /**
     * Scripts that use HTTP Basic send the password with every request, and a slow KDF on
     * each would make every call take a good part of a second. A correct password is
     * therefore remembered for a short while as an HMAC (under a key that lives only in
     * this process) of the name, the password and the stored hash: a changed password or
     * a removed user no longer matches, and a wrong password is never remembered.
     */
    private String verifiedKey(String name, String password, String storedHash) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(verifiedSecret, "HmacSHA256"));
            mac.update(name.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            mac.update(password.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            return HexFormat.of().formatHex(mac.doFinal(storedHash.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private void rememberVerified(String proof) {
        Instant now = Instant.now();
        if (verified.size() >= MAX_VERIFIED) {
            verified.values().removeIf(until -> until.isBefore(now));
            if (verified.size() >= MAX_VERIFIED) {
                verified.clear();
            }
        }
        verified.put(proof, now.plus(VERIFIED_FOR));
    }

    private void checkNotThrottled(String user, String source, String method) {
        Optional<Duration> wait = throttle.blocked(user == null || user.isEmpty() ? null : user, source);
        if (wait.isPresent()) {
            auditLogin(user == null || user.isEmpty() ? "-" : user, source, "throttled", method);
            throw new LoginThrottledException(wait.get());
        }
    }

    private void auditLogin(String user, String source, String result, String method) {
        audit.record(AuditEntry.of(user, source, "auth.login", user, result, method));
    }

    private void touchToken(Connection c, String id, Instant now) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("UPDATE API_TOKENS SET LAST_USED_AT = ? WHERE ID = ?")) {
            p.setTimestamp(1, Timestamp.from(now));
            p.setString(2, id);
            p.executeUpdate();
        }
    }

    // ------------------------------------------------------------------ users

    @Override
    public List<User> list(Caller caller) {
        String sql = "SELECT NAME, ACCOUNT, ROLE, CREATED_AT, PASSWORD_CHANGED_AT FROM USERS"
                + (caller.is(Role.ADMIN) ? "" : " WHERE ACCOUNT = ?") + " ORDER BY NAME";
        try (Connection c = db.getConnection(); PreparedStatement p = c.prepareStatement(sql)) {
            if (!caller.is(Role.ADMIN)) {
                p.setString(1, caller.account());
            }
            List<User> users = new ArrayList<>();
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    users.add(user(rs));
                }
            }
            return users;
        } catch (SQLException e) {
            throw unavailable(e);
        }
    }

    @Override
    public User get(Caller caller, String name) {
        User user = findUser(name == null ? "" : name).map(StoredUser::user)
                .filter(u -> caller.canSee(u.account()))
                .orElseThrow(() -> new NotFoundException("user", name));
        return user;
    }

    @Override
    public User create(Caller caller, String name, String password, Role role, String account) {
        String target = name == null ? "" : name;
        requireAdmin(caller, "user.create", target);
        validateName(name);
        if (role == null) {
            throw new InvalidInputException("role", "is required: admin, operator or viewer");
        }
        String acct = account == null || account.isBlank() ? DEFAULT_ACCOUNT : account.strip();
        if (!ACCOUNT.matcher(acct).matches()) {
            throw new InvalidInputException("account", "must be 1-64 characters: lower-case letters, digits, '.', '_'"
                    + " or '-', starting with a letter; was '" + abbreviate(acct) + "'");
        }
        validatePassword("password", password);
        Instant now = now();
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement("INSERT INTO USERS (NAME, ACCOUNT, ROLE, PASSWORD_HASH, "
                        + "CREATED_AT, PASSWORD_CHANGED_AT) VALUES (?,?,?,?,?,?)")) {
            p.setString(1, name);
            p.setString(2, acct);
            p.setString(3, role.id());
            p.setString(4, hasher.hash(password.toCharArray()));
            p.setTimestamp(5, Timestamp.from(now));
            p.setTimestamp(6, Timestamp.from(now));
            p.executeUpdate();
        } catch (SQLException e) {
            if (isDuplicate(e)) {
                record(caller, "user.create", name, "conflict", "");
                throw new ConflictException("user_exists", "a user named '" + name + "' already exists");
            }
            throw unavailable(e);
        }
        record(caller, "user.create", name, "ok", "role " + role.id() + ", account " + acct);
        LOG.info("User '{}' ({}, account {}) created by {} from {}", name, role.id(), acct, caller.user(), caller.source());
        return new User(name, acct, role, now, now);
    }

    @Override
    public void changePassword(Caller caller, String name, String currentPassword, String newPassword) {
        String target = name == null ? "" : name;
        boolean self = caller.user().equals(target);
        if (!self && !caller.is(Role.ADMIN)) {
            record(caller, "user.password", target, "forbidden", "");
            throw new ForbiddenException("only an admin may change another user's password");
        }
        StoredUser stored = findUser(target).filter(u -> caller.canSee(u.user().account()))
                .orElseThrow(() -> new NotFoundException("user", target));
        if (self) {
            // Users, admins included, prove who they are again: a session left open is not
            // enough to take the account over. An admin resetting someone else's need not.
            if (currentPassword == null || !hasher.verify(currentPassword.toCharArray(), stored.hash)) {
                record(caller, "user.password", target, "denied", "current password wrong");
                throw new InvalidInputException("currentPassword", "is not the current password");
            }
        }
        validatePassword("newPassword", newPassword);
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement(
                        "UPDATE USERS SET PASSWORD_HASH = ?, PASSWORD_CHANGED_AT = ? WHERE NAME = ?")) {
            p.setString(1, hasher.hash(newPassword.toCharArray()));
            p.setTimestamp(2, Timestamp.from(now()));
            p.setString(3, target);
            if (p.executeUpdate() == 0) {
                throw new NotFoundException("user", target);
            }
        } catch (SQLException e) {
            throw unavailable(e);
        }
        record(caller, "user.password", target, "ok", self ? "own password" : "reset by admin");
    }

    @Override
    public void remove(Caller caller, String name) {
        String target = name == null ? "" : name;
        requireAdmin(caller, "user.remove", target);
        try (Connection c = db.getConnection()) {
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
            try {
                StoredUser stored = findUser(c, target).orElseThrow(() -> new NotFoundException("user", target));
                if (stored.role() == Role.ADMIN && count(c, "SELECT COUNT(*) FROM USERS WHERE ROLE = 'admin'") <= 1) {
                    throw new ConflictException("last_admin", "'" + target + "' is the last admin and cannot be removed");
                }
                try (PreparedStatement p = c.prepareStatement("DELETE FROM USERS WHERE NAME = ?")) {
                    p.setString(1, target);
                    p.executeUpdate();
                }
                c.commit();
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                if (e instanceof CairnException ce) {
                    record(caller, "user.remove", target, ce.code(), "");
                }
                throw e;
            }
        } catch (SQLException e) {
            throw unavailable(e);
        }
        record(caller, "user.remove", target, "ok", "");
        LOG.info("User '{}' removed by {} from {}", target, caller.user(), caller.source());
    }

    // ------------------------------------------------------------------ tokens

    @Override
    public IssuedToken createToken(Caller caller, String owner, String name, Duration lifetime) {
        String who = owner == null || owner.isBlank() ? caller.user() : owner.strip();
        requireSelfOrAdmin(caller, who, "token.create");
        String label = name == null ? "" : name.strip();
        if (label.isEmpty() || label.length() > 128 || label.chars().anyMatch(Character::isISOControl)) {
            throw new InvalidInputException("name", "must be 1-128 printable characters");
        }
        if (lifetime != null && (lifetime.isNegative() || lifetime.isZero() || lifetime.compareTo(MAX_TOKEN_LIFETIME) > 0)) {
            throw new InvalidInputException("lifetime", "must be between 1 second and 3650 days, or absent for no expiry");
        }
        findUser(who).filter(u -> caller.canSee(u.user().account())).orElseThrow(() -> new NotFoundException("user", who));
        String id = HexFormat.of().formatHex(randomBytes(8));
        String secret = TOKEN_PREFIX + randomSecret(32);
        Instant now = now();
        Instant expires = lifetime == null ? null : now.plus(lifetime);
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement("INSERT INTO API_TOKENS (ID, OWNER, NAME, SECRET_HASH, "
                        + "CREATED_AT, EXPIRES_AT) VALUES (?,?,?,?,?,?)")) {
            p.setString(1, id);
            p.setString(2, who);
            p.setString(3, label);
            p.setString(4, sha256(secret));
            p.setTimestamp(5, Timestamp.from(now));
            p.setTimestamp(6, expires == null ? null : Timestamp.from(expires));
            p.executeUpdate();
        } catch (SQLException e) {
            throw unavailable(e);
        }
        record(caller, "token.create", id, "ok", "owner " + who + ", name " + label);
        return new IssuedToken(new ApiToken(id, who, label, now, expires, null), secret);
    }

    @Override
    public List<ApiToken> listTokens(Caller caller, String owner) {
        String who = owner == null || owner.isBlank() ? null : owner.strip();
        if (who == null && !caller.is(Role.ADMIN)) {
            who = caller.user();
        }
        if (who != null && !who.equals(caller.user()) && !caller.is(Role.ADMIN)) {
            throw new ForbiddenException("only an admin may list another user's tokens");
        }
        String sql = "SELECT ID, OWNER, NAME, CREATED_AT, EXPIRES_AT, LAST_USED_AT FROM API_TOKENS"
                + (who == null ? "" : " WHERE OWNER = ?") + " ORDER BY CREATED_AT, ID";
        try (Connection c = db.getConnection(); PreparedStatement p = c.prepareStatement(sql)) {
            if (who != null) {
                p.setString(1, who);
            }
            List<ApiToken> tokens = new ArrayList<>();
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    tokens.add(new ApiToken(rs.getString(1), rs.getString(2), rs.getString(3),
                            instant(rs.getTimestamp(4)), instant(rs.getTimestamp(5)), instant(rs.getTimestamp(6))));
                }
            }
            return tokens;
        } catch (SQLException e) {
            throw unavailable(e);
        }
    }

    @Override
    public void revokeToken(Caller caller, String tokenId) {
        String id = tokenId == null ? "" : tokenId;
        try (Connection c = db.getConnection()) {
            String owner;
            try (PreparedStatement p = c.prepareStatement("SELECT OWNER FROM API_TOKENS WHERE ID = ?")) {
                p.setString(1, id);
                try (ResultSet rs = p.executeQuery()) {
                    // Someone else's token is "not found" to a non-admin: ids are not confirmed to strangers.
                    if (!rs.next() || !rs.getString(1).equals(caller.user()) && !caller.is(Role.ADMIN)) {
                        record(caller, "token.revoke", id, "not_found", "");
                        throw new NotFoundException("token", id);
                    }
                    owner = rs.getString(1);
                }
            }
            try (PreparedStatement p = c.prepareStatement("DELETE FROM API_TOKENS WHERE ID = ?")) {
                p.setString(1, id);
                p.executeUpdate();
            }
            record(caller, "token.revoke", id, "ok", "owner " + owner);
        } catch (SQLException e) {
            throw unavailable(e);
        }
    }

    // ------------------------------------------------------------------ SSH keys

    @Override
    public AuthorizedKey addKey(Caller caller, String owner, String authorizedKeysLine) {
        String who = owner == null || owner.isBlank() ? caller.user() : owner.strip();
        requireSelfOrAdmin(caller, who, "key.add");
        findUser(who).filter(u -> caller.canSee(u.user().account())).orElseThrow(() -> new NotFoundException("user", who));
        OpenSshKeys.ParsedKey key = OpenSshKeys.parse(authorizedKeysLine);
        Instant now = now();
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement("INSERT INTO AUTHORIZED_KEYS (OWNER, FINGERPRINT, KEY_TYPE, "
                        + "PUBLIC_KEY, COMMENT, ADDED_AT) VALUES (?,?,?,?,?,?)")) {
            p.setString(1, who);
            p.setString(2, key.fingerprint());
            p.setString(3, key.type());
            p.setString(4, key.line());
            p.setString(5, key.comment());
            p.setTimestamp(6, Timestamp.from(now));
            p.executeUpdate();
        } catch (SQLException e) {
            if (isDuplicate(e)) {
                throw new ConflictException("key_exists", "this key is already authorized for '" + who + "'");
            }
            throw unavailable(e);
        }
        record(caller, "key.add", who, "ok", key.type() + " " + key.fingerprint());
        return new AuthorizedKey(who, key.fingerprint(), key.type(), key.line(), key.comment(), now);
    }

    @Override
    public List<AuthorizedKey> listKeys(Caller caller, String owner) {
        String who = owner == null || owner.isBlank() ? caller.user() : owner.strip();
        if (!who.equals(caller.user()) && !caller.is(Role.ADMIN)) {
            throw new ForbiddenException("only an admin may list another user's keys");
        }
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement("SELECT OWNER, FINGERPRINT, KEY_TYPE, PUBLIC_KEY, COMMENT, "
                        + "ADDED_AT FROM AUTHORIZED_KEYS WHERE OWNER = ? ORDER BY ADDED_AT, FINGERPRINT")) {
            p.setString(1, who);
            List<AuthorizedKey> keys = new ArrayList<>();
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    keys.add(new AuthorizedKey(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                            rs.getString(5), instant(rs.getTimestamp(6))));
                }
            }
            return keys;
        } catch (SQLException e) {
            throw unavailable(e);
        }
    }

    @Override
    public void removeKey(Caller caller, String owner, String fingerprint) {
        String who = owner == null || owner.isBlank() ? caller.user() : owner.strip();
        requireSelfOrAdmin(caller, who, "key.remove");
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement("DELETE FROM AUTHORIZED_KEYS WHERE OWNER = ? AND FINGERPRINT = ?")) {
            p.setString(1, who);
            p.setString(2, fingerprint == null ? "" : fingerprint.strip());
            if (p.executeUpdate() == 0) {
                record(caller, "key.remove", who, "not_found", String.valueOf(fingerprint));
                throw new NotFoundException("key", String.valueOf(fingerprint));
            }
        } catch (SQLException e) {
            throw unavailable(e);
        }
        record(caller, "key.remove", who, "ok", fingerprint);
    }

    // ------------------------------------------------------------------ helpers

    private void requireAdmin(Caller caller, String action, String target) {
        if (!caller.is(Role.ADMIN)) {
            record(caller, action, target, "forbidden", "role " + caller.role().id());
            throw new ForbiddenException("only an admin may do this (" + action + ")");
        }
    }

    private void requireSelfOrAdmin(Caller caller, String owner, String action) {
        if (!caller.user().equals(owner) && !caller.is(Role.ADMIN)) {
            record(caller, action, owner, "forbidden", "role " + caller.role().id());
            throw new ForbiddenException("only the owner or an admin may do this (" + action + ")");
        }
    }

    private void record(Caller caller, String action, String target, String result, String detail) {
        audit.record(AuditEntry.of(caller.user(), caller.source(), action, target, result, detail));
    }

    private static void validateName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new InvalidInputException("name", "must be 1-32 characters: lower-case letters, digits, '.', '_' or"
                    + " '-', starting with a letter; was '" + abbreviate(String.valueOf(name)) + "'");
        }
    }

    private static void validatePassword(String field, String password) {
        if (password == null || password.length() < MIN_PASSWORD) {
            throw new InvalidInputException(field, "must have at least " + MIN_PASSWORD + " characters");
        }
        if (password.length() > MAX_PASSWORD) {
            throw new InvalidInputException(field, "must have at most " + MAX_PASSWORD + " characters");
        }
    }

    private Optional<StoredUser> findUser(String name) {
        try (Connection c = db.getConnection()) {
            return findUser(c, name);
        } catch (SQLException e) {
            throw unavailable(e);
        }
    }

    private static Optional<StoredUser> findUser(Connection c, String name) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("SELECT NAME, ACCOUNT, ROLE, CREATED_AT, PASSWORD_CHANGED_AT, "
                + "PASSWORD_HASH FROM USERS WHERE NAME = ?")) {
            p.setString(1, name);
            try (ResultSet rs = p.executeQuery()) {
                return rs.next() ? Optional.of(new StoredUser(user(rs), rs.getString(6))) : Optional.empty();
            }
        }
    }

    private static User user(ResultSet rs) throws SQLException {
        return new User(rs.getString(1), rs.getString(2), Role.parse(rs.getString(3)), instant(rs.getTimestamp(4)),
                instant(rs.getTimestamp(5)));
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (PreparedStatement p = c.prepareStatement(sql); ResultSet rs = p.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static boolean isDuplicate(SQLException e) {
        return "23505".equals(e.getSQLState());
    }

    private static CairnException unavailable(SQLException e) {
        return new CairnException(CairnException.Kind.UNAVAILABLE, "database_unavailable",
                "the metadata database is not available: " + e.getMessage(), e);
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private String randomSecret(int bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(bytes));
    }

    /** Token secrets carry 256 random bits, so a fast digest is enough and lets them be looked up by hash. */
    static String sha256(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "..." : s;
    }

    private record StoredUser(User user, String hash) {
        Role role() {
            return user.role();
        }

        Caller caller(String source) {
            return new Caller(user.name(), user.account(), user.role(), source);
        }
    }
}
