package cairn.platform.api.health;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * One health check, registered as a service by the bundle that knows the answer
 * (a listener is bound, a store is reachable). Must return quickly and never throw;
 * a check that throws counts as failed.
 */
@ConsumerType
public interface HealthCheck {

    /** Service property: the check's name as shown in {@code /health}. Required. */
    String NAME = "cairn.health.name";

    HealthCheckResult check();
}
