package cairn.upgrade.api;

/** How an upgrade attempt ended. */
public enum UpgradeOutcome {
    /** The new jar is active and healthy and stays. */
    COMMITTED,
    /** The new jar was not healthy in time; the previous jar was restored. */
    ROLLED_BACK,
    /** Refused before anything changed (validation, impact, signature). */
    REFUSED,
    /** The new jar failed and the previous one could not be restored either: needs an operator. */
    FAILED
}
