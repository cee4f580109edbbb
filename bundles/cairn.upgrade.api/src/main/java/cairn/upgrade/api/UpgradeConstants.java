package cairn.upgrade.api;

/** Configuration PIDs and names shared by the upgrade bundle and its surfaces. */
public final class UpgradeConstants {

    /** Configuration of the upgrade service (timeouts, signing). */
    public static final String SERVICE_PID = "cairn.upgrade";
    /** Configuration of the {@code DATA/deploy} folder watcher. */
    public static final String DEPLOY_PID = "cairn.upgrade.deploy";
    /** Schema owner of the history tables. */
    public static final String SCHEMA = "upgrade";

    private UpgradeConstants() {
    }
}
