package cairn.platform.api.metadata;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.framework.Bundle;

/**
 * Applies a bundle's schema migrations in order, each exactly once, each in its own
 * transaction, and records them in a version table.
 *
 * <p>Scripts live in the owning bundle under {@code db/<owner>/} and are named
 * {@code V<number>__<description>.sql} ({@code V1__users.sql}); statements are
 * separated by a line holding only {@code ;} or by a semicolon at a line's end.
 * A script already applied whose content has changed is an error: migrations are
 * append-only.
 */
@ProviderType
public interface SchemaMigrations {

    /** Service property value that identifies the main data source. */
    String MAIN_DB = "main";
    /** Service property on the {@code DataSource} service. */
    String DB_PROPERTY = "cairn.db";

    /**
     * Brings the owner's schema up to date.
     *
     * @return the schema version now in place
     * @throws MigrationException when a script fails (its transaction is rolled back)
     *                            or an applied script was changed
     */
    int migrate(String owner, Bundle bundle) throws MigrationException;

    /** The version currently applied for the owner, 0 when none. */
    int version(String owner) throws MigrationException;
}
