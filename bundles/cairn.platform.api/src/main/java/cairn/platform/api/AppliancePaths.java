package cairn.platform.api;

/**
 * Framework properties the launcher sets for every bundle. Bundles read them from
 * their {@code BundleContext}; none of them reads environment variables itself.
 */
public final class AppliancePaths {

    /** Absolute path of the data directory that holds all state. */
    public static final String DATA = "cairn.data";
    /** Absolute path of the image's home (bin/, bundles/, etc/). */
    public static final String HOME = "cairn.home";
    /** The address every listener binds. */
    public static final String BIND = "cairn.bind";
    public static final String HTTP_PORT = "cairn.http.port";
    public static final String SSH_PORT = "cairn.ssh.port";
    public static final String NBD_PORT = "cairn.nbd.port";
    public static final String PEER_PORT = "cairn.peer.port";
    /** The appliance role the image was assembled for. */
    public static final String ROLE = "cairn.role";
    /** The firmware version of the image. */
    public static final String VERSION = "cairn.version";
    /**
     * When "true", a bundle that meets an error it cannot recover from (a locked or
     * corrupt database) stops the whole appliance so the process exits non-zero.
     */
    public static final String STOP_ON_FATAL = "cairn.stopOnFatal";
    /** System property where the reason of a fatal stop is left for the launcher. */
    public static final String FATAL_REASON = "cairn.fatal.reason";

    private AppliancePaths() {
    }
}
