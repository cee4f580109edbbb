/**
 * Health checks and readiness. Any bundle contributes checks by registering
 * {@link cairn.platform.api.health.HealthCheck} services; the platform aggregates them.
 */
@Export
@Version("1.0.0")
package cairn.platform.api.health;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
