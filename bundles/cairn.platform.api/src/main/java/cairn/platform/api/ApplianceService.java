package cairn.platform.api;

import java.time.Duration;
import java.time.Instant;

import org.osgi.annotation.versioning.ProviderType;

/** The running appliance: its persistent identity, its firmware version and its uptime. */
@ProviderType
public interface ApplianceService {

    ApplianceIdentity identity();

    /** The firmware version of the running image. */
    String version();

    /** When the current process started. */
    Instant startedAt();

    default Duration uptime() {
        return Duration.between(startedAt(), Instant.now());
    }
}
