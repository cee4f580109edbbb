package cairn.console.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.apache.sshd.common.AttributeRepository.AttributeKey;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.core.CoreModuleProperties;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.auth.pubkey.CachingPublicKeyAuthenticator;
import org.apache.sshd.server.channel.ChannelSession;
import org.apache.sshd.server.session.ServerSession;
import org.osgi.annotation.bundle.Capability;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.console.api.ConsolePids;
import cairn.platform.api.ApplianceService;
import cairn.platform.api.AppliancePaths;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.UserService;

/**
 * The SSH listener on {@code cairn.bind}:{@code cairn.ssh.port}. Logins go through the
 * platform's {@link UserService} (which rate-limits and audits failures); each exec
 * request or shell runs in its own Gogo session carrying the authenticated caller.
 * Registered as the "ssh" health check, which passes while the listener is bound.
 */
// Gogo's runtime asks for a shell; the console is that shell (over SSH instead of stdin).
@Capability(namespace = "org.apache.felix.gogo", name = "shell.implementation", version = "1.0.0")
@Component(service = HealthCheck.class, property = HealthCheck.NAME + "=ssh",
        configurationPid = ConsolePids.SSH, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = SshConsole.Config.class)
public class SshConsole implements HealthCheck {

    @ObjectClassDefinition(name = "Cairn SSH console", description = "The SSH management console")
    public @interface Config {
        @AttributeDefinition(min = "0", description = "Close a session after this many seconds without traffic; 0 keeps idle sessions open")
        long idleTimeoutSeconds() default 1800;

        @AttributeDefinition(min = "1", description = "Seconds a client has to log in after connecting")
        long authTimeoutSeconds() default 60;

        @AttributeDefinition(min = "1", max = "100", description = "Failed login attempts allowed on one connection before it is closed")
        int maxAuthAttempts() default 6;
    }

    static final AttributeKey<Caller> CALLER = new AttributeKey<>();
    private static final Logger LOG = LoggerFactory.getLogger(SshConsole.class);

    private final SshServer server;
    private final ExecutorService sessions;
    private final CommandCatalog catalog;
    private final String address;

    /** Dynamic: the platform can be updated under a running console; logins fail meanwhile. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile UserService users;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile ApplianceService appliance;

    @Activate
    public SshConsole(BundleContext context, Config config, @Reference CommandCatalog catalog)
            throws IOException, GeneralSecurityException {
        this.catalog = catalog;
        String bind = valueOr(context.getProperty(AppliancePaths.BIND), "0.0.0.0");
        int port = Integer.parseInt(valueOr(context.getProperty(AppliancePaths.SSH_PORT), "8101"));
        Path data = Path.of(valueOr(context.getProperty(AppliancePaths.DATA), "data"));
        AtomicInteger ids = new AtomicInteger();
        this.sessions = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "cairn-ssh-session-" + ids.incrementAndGet());
            t.setDaemon(true);
            return t;
        });

        server = SshServer.setUpDefaultServer();
        server.setHost(bind);
        server.setPort(port);
        server.setKeyPairProvider(KeyPairProvider.wrap(HostKey.loadOrCreate(data.resolve("tls"))));
        // plain "password" only: keyboard-interactive would print its instruction banner on every login
        server.setKeyboardInteractiveAuthenticator(null);
        server.setPasswordAuthenticator((user, password, session) -> login(session,
                s -> users().authenticate(user, password, s)));
        // one check per offered key and connection: a client that tries several keys
        // is not charged several failures for the probe and the signed attempt
        server.setPublickeyAuthenticator(new CachingPublicKeyAuthenticator((user, key, session) -> login(session,
                s -> users().authenticateKey(user, key, s))));
        server.setShellFactory(channel -> new ConsoleShell(catalog, sessions, promptHost()));
        server.setCommandFactory((channel, command) -> new ExecCommand(catalog, sessions, command));
        apply(config);
        try {
            server.start();
        } catch (IOException e) {
            sessions.shutdownNow();
            throw new IOException("cannot bind the SSH port " + bind + ":" + port + ": " + e.getMessage(), e);
        }
        this.address = bind + ":" + port;
        LOG.info("SSH console listening on {} (idle timeout {} s)", address, config.idleTimeoutSeconds());
    }

    /** New settings apply to new sessions; open sessions and the listener stay. */
    @Modified
    void modified(Config config) {
        apply(config);
        LOG.info("SSH console settings changed: idle timeout {} s", config.idleTimeoutSeconds());
    }

    private void apply(Config config) {
        CoreModuleProperties.IDLE_TIMEOUT.set(server, Duration.ofSeconds(Math.max(0, config.idleTimeoutSeconds())));
        CoreModuleProperties.AUTH_TIMEOUT.set(server, Duration.ofSeconds(Math.max(1, config.authTimeoutSeconds())));
        CoreModuleProperties.MAX_AUTH_REQUESTS.set(server, Math.max(1, config.maxAuthAttempts()));
    }

    @Deactivate
    void deactivate() throws IOException {
        try {
            server.stop(true);
        } finally {
            sessions.shutdownNow();
        }
        LOG.info("SSH console on {} stopped", address);
    }

    private UserService users() {
        UserService u = users;
        if (u == null) {
            throw new CairnException(CairnException.Kind.UNAVAILABLE, "unavailable", "user service not available");
        }
        return u;
    }

    private static boolean login(ServerSession session, java.util.function.Function<String, Caller> authenticate) {
        String source = source(session);
        try {
            Caller caller = authenticate.apply(source);
            session.setAttribute(CALLER, caller);
            return true;
        } catch (CairnException e) {
            LOG.info("SSH login refused from {}: {}", source, e.getMessage());
            return false;
        }
    }

    static String source(ServerSession session) {
        SocketAddress a = session.getClientAddress();
        String host = a instanceof InetSocketAddress i && i.getAddress() != null ? i.getAddress().getHostAddress()
                : String.valueOf(a);
        return "ssh:" + host;
    }

    static Caller caller(ChannelSession channel) {
        Caller c = channel.getSession().getAttribute(CALLER);
        if (c == null) {
            throw new IllegalStateException("channel without an authenticated caller");
        }
        return c;
    }

    private Supplier<String> promptHost() {
        return () -> {
            ApplianceService a = appliance;
            return a == null ? "cairn" : a.identity().name();
        };
    }

    @Override
    public HealthCheckResult check() {
        if (server.isStarted() && server.isOpen()) {
            return HealthCheckResult.ok("SSH console listening on " + address);
        }
        return HealthCheckResult.failed("SSH console is not listening on " + address);
    }

    private static String valueOr(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }
}
