package cairn.console.internal;

import java.time.Instant;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.console.api.RequiredRole;
import cairn.platform.api.ApplianceIdentity;
import cairn.platform.api.ApplianceService;
import cairn.platform.api.health.HealthReport;
import cairn.platform.api.health.HealthStatus;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.Role;

/** {@code cairn:status} and {@code cairn:health}: what the appliance is and how it is doing. */
@Component(service = CairnCommands.class)
@GogoCommand(scope = "cairn", function = { "status", "health" })
@RequiredRole(Role.VIEWER)
public class CairnCommands {

    /** What {@code cairn:status} shows. */
    public record Status(String id, String name, String role, String version, HealthStatus status,
            Instant startedAt, long uptimeSeconds, Instant createdAt) {
    }

    private final ApplianceService appliance;
    private final ReadinessService readiness;

    @Activate
    public CairnCommands(@Reference ApplianceService appliance, @Reference ReadinessService readiness) {
        this.appliance = appliance;
        this.readiness = readiness;
    }

    @Descriptor("show the appliance's identity, firmware version, state and uptime")
    public Status status() {
        ApplianceIdentity id = appliance.identity();
        return new Status(id.id(), id.name(), id.role(), appliance.version(), readiness.report().status(),
                appliance.startedAt(), appliance.uptime().toSeconds(), id.createdAt());
    }

    @Descriptor("run every health check and show each result")
    public HealthReport health() {
        return readiness.report();
    }
}
