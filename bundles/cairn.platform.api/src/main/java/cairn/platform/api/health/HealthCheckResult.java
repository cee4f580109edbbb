package cairn.platform.api.health;

import java.util.Objects;

/** The outcome of one check: ok or not, with a sentence a person can act on. */
public record HealthCheckResult(boolean ok, String message) {

    public HealthCheckResult {
        Objects.requireNonNull(message, "message");
    }

    public static HealthCheckResult ok(String message) {
        return new HealthCheckResult(true, message);
    }

    public static HealthCheckResult failed(String message) {
        return new HealthCheckResult(false, message);
    }
}
