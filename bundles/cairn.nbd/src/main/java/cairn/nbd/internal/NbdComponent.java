package cairn.nbd.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.blockstore.api.BlockstoreConstants;
import cairn.blockstore.api.VolumeService;
import cairn.blockstore.api.tls.FleetCertificateAuthority;
import cairn.platform.api.AppliancePaths;
import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;

/**
 * The NBD server of the appliance: owns the TCP listener ({@code cairn.nbd.port} on
 * {@code cairn.bind}) and the unix socket under {@code DATA/run/}. The engine and the
 * certificate authority are dynamic references: when {@code cairn.blockstore} restarts or
 * is upgraded, this component stays, keeps its clients connected, and holds their
 * requests until the engine is back (up to {@link Config#engineWaitMillis()}).
 */
@Component(configurationPid = NbdComponent.PID, service = HealthCheck.class, property = HealthCheck.NAME + "=nbd")
@Designate(ocd = NbdComponent.Config.class)
public class NbdComponent implements HealthCheck {

    public static final String PID = BlockstoreConstants.NBD_PID;
    static final int DEFAULT_PORT = 10809;

    @ObjectClassDefinition(name = "Cairn NBD server", description = "Network block device access to attached volumes")
    public @interface Config {
        @AttributeDefinition(description = "TLS with client certificates ('on'), plaintext lab mode ('off', loopback"
                + " bind only), or 'default': the framework property " + BlockstoreConstants.NBD_TLS_PROPERTY
                + " (the launcher's --nbd-tls), on when unset",
                options = { @Option(value = "default"), @Option(value = "on"), @Option(value = "off") })
        String tls() default "default";

        @AttributeDefinition(description = "Who seals and opens TLS records: 'openssl' (BoringSSL, native; the JDK's"
                + " engine where it does not load) or 'jdk' (the JDK's engine)",
                options = { @Option(value = "openssl"), @Option(value = "jdk") })
        String tlsEngine() default "openssl";

        @AttributeDefinition(description = "Also listen on the unix socket DATA/" + BlockstoreConstants.NBD_UNIX_SOCKET)
        boolean unixSocket() default true;

        @AttributeDefinition(description = "How READ replies leave on the unix socket: 'copy' (the server copies the"
                + " data from the page cache into the socket) or 'sendfile' (the kernel sends the page cache's pages:"
                + " the least CPU in all, but the client's reads then copy them out of the page cache themselves,"
                + " which slowed a single-threaded client on some machines)",
                options = { @Option(value = "copy"), @Option(value = "sendfile") })
        String unixReads() default "copy";

        @AttributeDefinition(description = "Milliseconds a request is held while the storage engine is away"
                + " (restart or upgrade) before it fails", min = "0", max = "600000")
        int engineWaitMillis() default 30000;

        @AttributeDefinition(description = "Worker threads per connection for requests that may wait (reads from"
                + " disk, flushes, FUA writes), run in parallel; large reads of data in the page cache have one"
                + " sender thread per connection of their own",
                min = "1", max = "64")
        int workersPerConnection() default 4;

        @AttributeDefinition(description = "READs up to this many bytes, and plain WRITEs of any size (over TLS"
                + " up to it), run on the connection's own thread and their replies leave together; larger ones"
                + " go to the workers (0: every request does)",
                min = "0", max = "262144")
        int inlineMaxBytes() default Limits.DEFAULT_INLINE;

        @AttributeDefinition(description = "Whether a TLS WRITE larger than the inline bound goes to a worker, so"
                + " the connection's thread decrypts the next payload meanwhile: 'auto' (on with more than two"
                + " processors, where a core is free to write), 'on' or 'off' (the connection's thread writes it)",
                options = { @Option(value = "auto"), @Option(value = "on"), @Option(value = "off") })
        String tlsWriteHandoff() default "auto";

        @AttributeDefinition(description = "Requests read but not yet answered, per connection", min = "1",
                max = "1024")
        int maxRequestsInFlight() default 64;

        @AttributeDefinition(description = "Payload bytes held for requests in flight, per connection (at least the"
                + " largest request, 32 MiB)", min = "33554432")
        int maxBytesInFlight() default 64 << 20;

        @AttributeDefinition(description = "Milliseconds a client may take to finish negotiation", min = "100")
        int handshakeTimeoutMillis() default 30000;

        @AttributeDefinition(description = "Connections at once; more are closed on accept", min = "1")
        int maxConnections() default 512;

        @AttributeDefinition(description = "Milliseconds an orderly stop waits for requests in flight", min = "0")
        int stopGraceMillis() default 10000;

        @AttributeDefinition(description = "Seconds, roughly, after which a TCP connection whose client stopped "
                + "answering keepalive probes (its machine died) is closed, so its lease can run out; 0: never",
                min = "0", max = "86400")
        int deadPeerSeconds() default 30;
    }

    private static final Logger LOG = LoggerFactory.getLogger(NbdComponent.class);

    private final EngineGate<VolumeService> engine;
    private final EngineGate<FleetCertificateAuthority> authority;
    private final NbdServer server;
    private final Config config;
    private final boolean tls;
    private TlsProvider tlsProvider;
    private FleetCertificateAuthority tlsProviderOwner;
    private long tlsProviderCreated;
    private boolean warnedNoOpenSsl;

    @Activate
    public NbdComponent(BundleContext context, Config config) throws IOException {
        this.config = config;
        String bind = property(context, AppliancePaths.BIND, "0.0.0.0");
        int port = Integer.parseInt(property(context, AppliancePaths.NBD_PORT, Integer.toString(DEFAULT_PORT)));
        this.tls = tlsOn(config.tls(), context.getProperty(BlockstoreConstants.NBD_TLS_PROPERTY));
        InetAddress address = InetAddress.getByName(bind);
        if (!tls && !address.isLoopbackAddress()) {
            String message = "NBD lab mode (--nbd-tls off) is accepted only with a loopback bind, not " + bind
                    + ": refusing to serve volumes in plaintext";
            LOG.error(message);
            throw new IllegalStateException(message);
        }
        Path unix = null;
        if (config.unixSocket()) {
            String data = context.getProperty(AppliancePaths.DATA);
            unix = Path.of(data == null ? "data" : data).toAbsolutePath().resolve(BlockstoreConstants.NBD_UNIX_SOCKET);
        }
        Limits limits = new Limits(1, VolumeService.PREFERRED_BLOCK_SIZE, VolumeService.MAX_REQUEST_BYTES,
                config.workersPerConnection(), config.maxRequestsInFlight(),
                Math.max(config.maxBytesInFlight(), VolumeService.MAX_REQUEST_BYTES),
                Math.max(0, Math.min(config.inlineMaxBytes(), Limits.MAX_INLINE)),
                tlsWriteHandoff(config.tlsWriteHandoff()));
        ServerState state = new ServerState();
        this.engine = new EngineGate<>(state);
        this.authority = new EngineGate<>(state);
        this.server = new NbdServer(new NbdServer.Settings(new InetSocketAddress(address, port), unix,
                tls ? () -> serverTls().newEngine() : null, limits, config.handshakeTimeoutMillis(), config.maxConnections(),
                config.deadPeerSeconds(), unixSendfile(config.unixReads())),
                new EngineCatalog(engine, config.engineWaitMillis()), state);
        server.start();
    }

    static boolean tlsOn(String configured, String frameworkProperty) {
        String mode = configured == null || configured.isBlank() || configured.equals("default")
                ? frameworkProperty : configured;
        return mode == null || !mode.trim().equalsIgnoreCase("off");
    }

    /** The tlsWriteHandoff setting: "on", "off", or "auto" (also for anything else, with a warning). */
    static boolean tlsWriteHandoff(String configured) {
        String mode = configured == null ? "auto" : configured.trim().toLowerCase(Locale.ROOT);
        switch (mode) {
        case "on":
            return true;
        case "off":
            return false;
        case "auto":
            return Limits.defaultTlsWriteHandoff();
        default:
            LOG.warn("tlsWriteHandoff must be 'auto', 'on' or 'off', not '{}': using 'auto'", configured);
            return Limits.defaultTlsWriteHandoff();
        }
    }

    /** The unixReads setting: "sendfile", or "copy" (also for anything else, with a warning). */
    static boolean unixSendfile(String configured) {
        String mode = configured == null ? "copy" : configured.trim().toLowerCase(Locale.ROOT);
        switch (mode) {
        case "sendfile":
            return true;
        case "copy":
            return false;
        default:
            LOG.warn("unixReads must be 'copy' or 'sendfile', not '{}': using 'copy'", configured);
            return false;
        }
    }

    private static String property(BundleContext context, String key, String fallback) {
        String v = context.getProperty(key);
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindVolumeService(VolumeService service) {
        engine.bind(service);
    }

    void unbindVolumeService(VolumeService service) {
        engine.unbind(service);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindAuthority(FleetCertificateAuthority ca) {
        authority.bind(ca);
    }

    void unbindAuthority(FleetCertificateAuthority ca) {
        authority.unbind(ca);
    }

    /** The CA's server TLS engines, renewed now and then because the authority renews its certificate. */
    private synchronized TlsProvider serverTls() throws IOException {
        FleetCertificateAuthority ca;
        try {
            ca = authority.await(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.engineWaitMillis()), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        if (ca == null) {
            throw new IOException("no certificate authority available");
        }
        long now = System.nanoTime();
        if (tlsProvider == null || tlsProviderOwner != ca || now - tlsProviderCreated > TimeUnit.HOURS.toNanos(1)) {
            tlsProvider = newServerTls(ca);
            tlsProviderOwner = ca;
            tlsProviderCreated = now;
        }
        return tlsProvider;
    }

    private TlsProvider newServerTls(FleetCertificateAuthority ca) throws IOException {
        if (config.tlsEngine().equals("jdk")) {
            return new JdkTls(ca.newServerContext());
        }
        if (!OpenSslTls.available()) {
            if (!warnedNoOpenSsl) {
                warnedNoOpenSsl = true;
                LOG.warn("BoringSSL did not load ({}); NBD TLS runs on the JDK's engine",
                        String.valueOf(OpenSslTls.unavailabilityCause()));
            }
            return new JdkTls(ca.newServerContext());
        }
        FleetCertificateAuthority.ServerIdentity server = ca.serverIdentity();
        return new OpenSslTls(server.privateKey(), server.chain(), ca.trustedCertificate());
    }

    /** The engine the next TLS connection gets: "openssl" or "jdk". */
    String tlsEngine() {
        return config.tlsEngine().equals("jdk") || !OpenSslTls.available() ? "jdk" : "openssl";
    }

    @Deactivate
    void deactivate() {
        engine.wake();
        server.stop(config.stopGraceMillis());
    }

    @Override
    public HealthCheckResult check() {
        if (!server.listening()) {
            return HealthCheckResult.failed("NBD listeners are not bound");
        }
        return HealthCheckResult.ok("NBD listening on port " + server.portOrZero()
                + (tls ? " (TLS, " + tlsEngine() + ")" : " (lab mode)")
                + ", " + server.connections() + " connections");
    }
}
