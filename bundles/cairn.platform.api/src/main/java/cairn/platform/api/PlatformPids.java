package cairn.platform.api;

/**
 * Configuration PIDs of the platform bundles, kept in the API so an operator's
 * {@code DATA/etc/<pid>.cfg} keeps working whatever the implementations are renamed to.
 */
public final class PlatformPids {

    /** Readiness: how long one health check may take, which bundles' components must be satisfied. */
    public static final String READINESS = "cairn.platform.readiness";
    /** Users: password hashing rounds and failed-login throttling. */
    public static final String USERS = "cairn.platform.users";
    /** The embedded metadata database. */
    public static final String METADATA = "cairn.metadata";
    /** The REST API: browser session lifetimes. */
    public static final String WEB_API = "cairn.web.api";

    private PlatformPids() {
    }
}
