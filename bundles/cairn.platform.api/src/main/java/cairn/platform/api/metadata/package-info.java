/**
 * The appliance's metadata store. {@code cairn.metadata} publishes a
 * {@link javax.sql.DataSource} service (property {@code cairn.db=main}) and a
 * {@link cairn.platform.api.metadata.SchemaMigrations} service; each bundle owns its
 * tables and ships its ordered migrations under {@code db/<owner>/} in its jar.
 */
@Export
@Version("1.0.0")
package cairn.platform.api.metadata;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
