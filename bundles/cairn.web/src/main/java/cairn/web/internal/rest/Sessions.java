package cairn.web.internal.rest;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import cairn.platform.api.security.Caller;

/**
 * Browser sessions: a random id in an {@code HttpOnly; Secure; SameSite=Strict} cookie and
 * a separate CSRF token the page sends back in a header on every mutating request.
 * Kept in memory on purpose: a restart or an upgrade of this bundle logs browsers out,
 * and no session secret ever reaches the disk.
 */
public final class Sessions {

    public static final String COOKIE = "cairn_session";
    public static final String CSRF_HEADER = "X-CSRF-Token";
    private static final int MAX_SESSIONS = 10_000;

    /** A logged-in browser. */
    public record Session(String id, String csrfToken, Caller caller, Instant createdAt, Instant lastSeen) {
    }

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final Duration idle;
    private final Duration absolute;
    private final Clock clock;

    public Sessions(Duration idle, Duration absolute, Clock clock) {
        this.idle = idle;
        this.absolute = absolute;
        this.clock = clock;
    }

    public Session create(Caller caller) {
        Instant now = clock.instant();
        if (sessions.size() >= MAX_SESSIONS) {
            sessions.values().removeIf(s -> expired(s, now));
        }
        Session s = new Session(randomId(), randomId(), caller, now, now);
        sessions.put(s.id(), s);
        return s;
    }

    /** The live session for a cookie value, its idle time renewed; the caller's source is the current request's. */
    public Optional<Session> find(String id, String source) {
        if (id == null) {
            return Optional.empty();
        }
        Session s = sessions.get(id);
        Instant now = clock.instant();
        if (s == null) {
            return Optional.empty();
        }
        if (expired(s, now)) {
            sessions.remove(id);
            return Optional.empty();
        }
        Caller c = s.caller();
        Session renewed = new Session(s.id(), s.csrfToken(), new Caller(c.user(), c.account(), c.role(), source),
                s.createdAt(), now);
        sessions.put(id, renewed);
        return Optional.of(renewed);
    }

    public boolean csrfMatches(Session s, String token) {
        return token != null && MessageDigest.isEqual(s.csrfToken().getBytes(), token.getBytes());
    }

    public void remove(String id) {
        if (id != null) {
            sessions.remove(id);
        }
    }

    public Duration idleTimeout() {
        return idle;
    }

    private boolean expired(Session s, Instant now) {
        return s.lastSeen().plus(idle).isBefore(now) || s.createdAt().plus(absolute).isBefore(now);
    }

    private String randomId() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
