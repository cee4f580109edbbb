package cairn.platform.api.health;

/** The appliance's overall state as reported by {@code /health}. */
public enum HealthStatus {
    /** Bundles are still starting or checks have not passed yet since boot. */
    STARTING,
    /** Every bundle is active and every check passes. */
    READY,
    /** The appliance was ready once and something has failed since. */
    DOWN
}
