package cairn.upgrade.api;

import java.time.Instant;

/**
 * One line of the upgrade history.
 *
 * @param id             assigned by the store
 * @param at             when the attempt started
 * @param actor          who asked
 * @param source         where from
 * @param kind           {@code upgrade} or {@code rollback}
 * @param symbolicName   the bundle
 * @param fromVersion    the version before ("" when the jar was refused before it was read)
 * @param toVersion      the version asked for ("" when unknown)
 * @param outcome        how it ended
 * @param durationMillis how long it took
 * @param reason         why (refusal, failed health, or a summary)
 */
public record UpgradeRecord(long id, Instant at, String actor, String source, String kind, String symbolicName,
        String fromVersion, String toVersion, UpgradeOutcome outcome, long durationMillis, String reason) {

    public static final String KIND_UPGRADE = "upgrade";
    public static final String KIND_ROLLBACK = "rollback";
}
