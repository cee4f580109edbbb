package cairn.platform.api.health;

import java.util.List;

/** The aggregate of all checks at one moment. */
public record HealthReport(HealthStatus status, List<CheckReport> checks) {

    public HealthReport {
        checks = List.copyOf(checks);
    }

    public boolean ready() {
        return status == HealthStatus.READY;
    }
}
