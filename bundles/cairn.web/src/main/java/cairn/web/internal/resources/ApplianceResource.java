package cairn.web.internal.resources;

import java.time.Instant;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.ApplianceIdentity;
import cairn.platform.api.ApplianceService;
import cairn.platform.api.health.HealthReport;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.Role;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Routes;

/** {@code /appliance} and {@code /health}: who this appliance is and how it is. */
@Component(service = ApiResource.class)
public class ApplianceResource implements ApiResource {

    /** The appliance as the overview page shows it. */
    public record ApplianceInfo(String id, String name, String role, String version, Instant createdAt,
            Instant startedAt, long uptimeSeconds) {
    }

    private final ApplianceService appliance;
    private final ReadinessService readiness;

    @Activate
    public ApplianceResource(@Reference ApplianceService appliance, @Reference ReadinessService readiness) {
        this.appliance = appliance;
        this.readiness = readiness;
    }

    @Override
    public void routes(Routes r) {
        r.get("/appliance", Role.VIEWER, "Identity, firmware version, role and uptime").returns(ApplianceInfo.class)
                .handle(call -> {
                    ApplianceIdentity id = appliance.identity();
                    return new ApplianceInfo(id.id(), id.name(), id.role(), appliance.version(), id.createdAt(),
                            appliance.startedAt(), appliance.uptime().toSeconds());
                });
        r.get("/health", Role.VIEWER, "Readiness and every health check (200 whatever the status)")
                .returns(HealthReport.class).handle(call -> readiness.report());
    }
}
