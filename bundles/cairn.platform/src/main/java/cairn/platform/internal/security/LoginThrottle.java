package cairn.platform.internal.security;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts failed logins in a sliding window, per user name and per source address. Once
 * either count reaches its limit, further attempts for that key are refused without
 * checking the password until the oldest failure leaves the window. Kept in memory on
 * purpose: after a restart an attacker starts over, but so does nobody get locked out
 * for good by a stale record.
 */
final class LoginThrottle {

    private final int perUser;
    private final int perSource;
    private final Duration window;
    private final Clock clock;
    private final Map<String, Deque<Instant>> failures;

    LoginThrottle(int perUser, int perSource, Duration window, Clock clock) {
        this(perUser, perSource, window, clock, new ConcurrentHashMap<>());
    }

    private LoginThrottle(int perUser, int perSource, Duration window, Clock clock,
            Map<String, Deque<Instant>> failures) {
        this.perUser = perUser;
        this.perSource = perSource;
        this.window = window;
        this.clock = clock;
        this.failures = failures;
    }

    /** The same failures counted so far under new limits: a settings change forgives nobody. */
    LoginThrottle withLimits(int perUser, int perSource, Duration window) {
        return new LoginThrottle(perUser, perSource, window, clock, failures);
    }

    /** How long the caller must wait, if either the user or the source is over its limit. */
    Optional<Duration> blocked(String user, String source) {
        Instant now = clock.instant();
        Duration wait = Duration.ZERO;
        if (user != null) {
            wait = max(wait, waitFor("user:" + user, perUser, now));
        }
        wait = max(wait, waitFor("source:" + sourceKey(source), perSource, now));
        return wait.isZero() ? Optional.empty() : Optional.of(wait);
    }

    void failed(String user, String source) {
        Instant now = clock.instant();
        if (user != null) {
            add("user:" + user, now);
        }
        add("source:" + sourceKey(source), now);
    }

    /** A correct password clears the user's count; the source keeps its own. */
    void succeeded(String user) {
        failures.remove("user:" + user);
    }

    private Duration waitFor(String key, int limit, Instant now) {
        Deque<Instant> times = failures.get(key);
        if (times == null) {
            return Duration.ZERO;
        }
        synchronized (times) {
            prune(times, now);
            if (times.size() < limit) {
                return Duration.ZERO;
            }
            return Duration.between(now, times.peekFirst().plus(window));
        }
    }

    private void add(String key, Instant now) {
        Deque<Instant> times = failures.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (times) {
            prune(times, now);
            times.addLast(now);
        }
        // Forget keys whose window has passed, so the map cannot grow without bound.
        if (failures.size() > 10_000) {
            failures.entrySet().removeIf(e -> {
                synchronized (e.getValue()) {
                    prune(e.getValue(), now);
                    return e.getValue().isEmpty();
                }
            });
        }
    }

    private void prune(Deque<Instant> times, Instant now) {
        Instant cutoff = now.minus(window);
        while (!times.isEmpty() && !times.peekFirst().isAfter(cutoff)) {
            times.removeFirst();
        }
    }

    /** "ssh:10.0.0.5" (the console's form) and "10.0.0.5" (the web's) are the same address. */
    private static String sourceKey(String source) {
        if (source == null) {
            return "unknown";
        }
        return source.startsWith("ssh:") ? source.substring(4) : source;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }
}
