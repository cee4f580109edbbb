package cairn.blockstore.api;

/** Configuration PIDs and shared names of block storage, stable across refactorings. */
public final class BlockstoreConstants {

    /** PID of the storage engine (volumes, leases, takeover). */
    public static final String ENGINE_PID = "cairn.blockstore";
    /** PID of the NBD server (cairn.nbd): limits, timeouts, keepalive probes. */
    public static final String NBD_PID = "cairn.nbd";
    /** PID of the fleet certificate authority. */
    public static final String CA_PID = "cairn.blockstore.ca";
    /** Name of the health check. */
    public static final String HEALTH_CHECK = "blockstore";
    /** Audit source of actions the appliance takes on its own (automatic takeover). */
    public static final String AUDIT_OWNER = "blockstore";

    /**
     * Framework property: {@code off} when the NBD server serves plaintext (lab mode,
     * loopback only); anything else or unset means TLS with client certificates. Decides the
     * scheme of {@link Attachment#uri()}.
     */
    public static final String NBD_TLS_PROPERTY = "cairn.nbd.tls";
    /** The NBD unix socket, relative to the data directory. */
    public static final String NBD_UNIX_SOCKET = "run/nbd.sock";

    private BlockstoreConstants() {
    }
}
