package cairn.upgrade.api;

import java.io.InputStream;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Replaces one installed bundle by a new jar of the same symbolic name while the
 * appliance serves. One upgrade runs at a time; a second caller waits for the first.
 *
 * <p>Refusals (not a bundle, unknown symbolic name, not a higher version without
 * {@code force}, unsigned when signing is required, other bundles to restart without
 * {@code confirm}) throw {@link cairn.platform.api.errors.InvalidInputException} or
 * {@link cairn.platform.api.errors.ConflictException}, change nothing and are
 * recorded in the history. An upgrade that went ahead returns its {@link UpgradeResult}:
 * committed, or rolled back to the previous jar with the reason.
 */
@ProviderType
public interface UpgradeService {

    /** Validation and impact of a jar without changing anything. */
    UpgradePlan plan(InputStream jar, UpgradeRequest request);

    /** Validates, swaps, waits for health, commits or restores. The stream is read to its end. */
    UpgradeResult upgrade(InputStream jar, UpgradeRequest request);

    /**
     * Goes back by hand to the version that the last committed upgrade of the bundle
     * replaced, with the same health check (and automatic restore if that fails).
     *
     * @throws cairn.platform.api.errors.NotFoundException when the bundle is not installed
     * @throws cairn.platform.api.errors.ConflictException when there is nothing to go back to
     */
    UpgradeResult rollback(String symbolicName, UpgradeRequest request);

    /** The newest records first; {@code symbolicName} null for every bundle. */
    List<UpgradeRecord> history(String symbolicName, int limit);

    /** Every installed bundle with its version and what a rollback would go back to. */
    List<InstalledBundle> bundles();
}
