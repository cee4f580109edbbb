package cairn.upgrade.api;

/** Configuration PIDs and names shared by the upgrade bundle and its surfaces. */
public final class UpgradeConstants {

    /** Configuration of the upgrade service (timeouts, signing). */
    public static final String SERVICE_PID = "cairn.upgrade";
    /** Configuration of the {@code DATA/deploy} folder watcher. */
    public static final String DEPLOY_PID = "cairn.upgrade.deploy";
    /** Configuration of image staging (size limits). */
    public static final String IMAGE_PID = "cairn.upgrade.image";
    /** Framework property: the slot ({@code a} or {@code b}) the running image was booted from. */
    public static final String IMAGE_SLOT = "cairn.image.slot";
    /** Framework property: the home of the image installed with the launcher (slot {@code a} until staged over). */
    public static final String INSTALLED_HOME = "cairn.image.installed";
    /** Schema owner of the history tables. */
    public static final String SCHEMA = "upgrade";

    private UpgradeConstants() {
    }
}
