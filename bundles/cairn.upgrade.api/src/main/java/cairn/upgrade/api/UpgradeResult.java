package cairn.upgrade.api;

import java.util.List;

/**
 * The end of one upgrade or rollback that went ahead.
 *
 * @param id              the history record's id
 * @param symbolicName    the bundle
 * @param fromVersion     the version before
 * @param toVersion       the version asked for
 * @param runningVersion  the version active now (the previous one after a rollback)
 * @param outcome         committed, rolled back or failed
 * @param reason          why it was rolled back or failed, or a short summary when committed
 * @param durationMillis  from the start of the swap to the commit or restore
 * @param affectedBundles other bundles that were refreshed (confirmed by the caller)
 */
public record UpgradeResult(long id, String symbolicName, String fromVersion, String toVersion,
        String runningVersion, UpgradeOutcome outcome, String reason, long durationMillis,
        List<String> affectedBundles) {

    public UpgradeResult {
        affectedBundles = List.copyOf(affectedBundles);
    }

    public boolean committed() {
        return outcome == UpgradeOutcome.COMMITTED;
    }
}
