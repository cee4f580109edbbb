package cairn.platform.api.health;

import org.osgi.annotation.versioning.ProviderType;

/** Runs every registered check plus the platform's own (bundles active, components satisfied). */
@ProviderType
public interface ReadinessService {

    HealthReport report();
}
