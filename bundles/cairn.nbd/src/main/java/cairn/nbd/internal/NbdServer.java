package cairn.nbd.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketOption;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;


import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The NBD listeners (TCP and a unix socket) and their connections. Plain Java so the
 * protocol can be tested without a framework; the DS component wires it to the engine.
 * Each connection gets its own thread for negotiation and request reading.
 */
final class NbdServer {

    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
    /** Room for a few full-size replies in the kernel (capped there by net.core.wmem_max). */
    private static final int UNIX_SEND_BUFFER = 4 << 20;

    /**
     * How the server is set up. {@code tls} null: plaintext (lab mode). {@code unixSocket} null: none.
     * {@code deadPeerSeconds}: about how long a TCP client may stay silent to keepalive probes
     * before its connection is closed; 0: no probes. {@code unixSendfile}: READ replies on the
     * unix socket leave from the page cache by sendfile rather than copied from mapped memory
     * (see {@link ChannelWire#plainChannel}).
     */
    record Settings(InetSocketAddress tcp, Path unixSocket, TlsProvider tls, Limits limits, int handshakeTimeoutMillis,
            int maxConnections, int deadPeerSeconds, boolean unixSendfile) {

        Settings(InetSocketAddress tcp, Path unixSocket, TlsProvider tls, Limits limits, int handshakeTimeoutMillis,
                int maxConnections) {
            this(tcp, unixSocket, tls, limits, handshakeTimeoutMillis, maxConnections, 0, false);
        }
    }

    private final Settings settings;
    private final ExportCatalog catalog;
    private final ServerState state;
    private final BufferPool pool;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final Set<SocketChannel> negotiating = ConcurrentHashMap.newKeySet();
    private final List<ServerSocketChannel> listeners = new ArrayList<>();
    private final List<Thread> acceptors = new ArrayList<>();
    private final ScheduledExecutorService timer;
    private final AtomicLong connectionIds = new AtomicLong();

    NbdServer(Settings settings, ExportCatalog catalog, ServerState state) {
        this.settings = settings;
        this.state = state;
        this.catalog = catalog;
        Limits l = settings.limits();
        // retain enough buffers for every worker of a few busy connections
        this.pool = new BufferPool(l.maxPayload(), Math.max(64L << 20, (long) l.maxBytesInFlight()));
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cairn-nbd-handshake-timer");
            t.setDaemon(true);
            return t;
        });
    }

    ServerState state() {
        return state;
    }

    /** Binds every listener; on failure nothing stays bound. */
    synchronized void start() throws IOException {
        try {
            ServerSocketChannel tcp = ServerSocketChannel.open();
            listeners.add(tcp);
            tcp.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            tcp.bind(settings.tcp(), 128);
            if (settings.unixSocket() != null) {
                Path socket = settings.unixSocket();
                Files.createDirectories(socket.getParent());
                Files.deleteIfExists(socket);
                ServerSocketChannel unix = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                listeners.add(unix);
                unix.bind(UnixDomainSocketAddress.of(socket), 128);
                // the export name is the credential on this socket; keep other local users out too
                Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
            }
        } catch (IOException e) {
            closeListeners();
            throw e;
        }
        for (ServerSocketChannel listener : listeners) {
            boolean unix = listener.getLocalAddress() instanceof UnixDomainSocketAddress;
            Thread t = new Thread(() -> accept(listener, unix), "cairn-nbd-accept-" + (unix ? "unix" : "tcp"));
            t.setDaemon(true);
            acceptors.add(t);
            t.start();
        }
        LOG.info("NBD listening on {}{}{}", listeners.get(0).getLocalAddress(),
                settings.unixSocket() != null ? " and " + settings.unixSocket() : "",
                settings.tls() != null ? " (TLS with client certificates)" : " (lab mode: plaintext, export names as credentials)");
    }

    int port() throws IOException {
        return ((InetSocketAddress) listeners.get(0).getLocalAddress()).getPort();
    }

    int portOrZero() {
        try {
            return port();
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    boolean listening() {
        return !listeners.isEmpty() && listeners.stream().allMatch(ServerSocketChannel::isOpen) && !state.stopping();
    }

    int connections() {
        return sessions.size();
    }

    private void accept(ServerSocketChannel listener, boolean unix) {
        while (listener.isOpen()) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                if (listener.isOpen()) {
                    LOG.warn("NBD accept failed: {}", e.toString());
                }
                continue;
            }
            if (sessions.size() + negotiating.size() >= settings.maxConnections() || state.stopping()) {
                close(channel);
                continue;
            }
            String id = "c" + connectionIds.incrementAndGet();
            Thread t = new Thread(() -> serve(channel, unix, id), "cairn-nbd-" + id);
            t.setDaemon(true);
            t.start();
        }
    }

    /**
     * A client whose machine dies or drops off the network sends no FIN: its connection, and
     * with it the attachment's lease, would stay open for ever and no standby could take the
     * volume over. Keepalive probes an idle connection and the kernel closes it when the peer
     * stays silent: idle for a quarter of the bound, then three probes a quarter apart. The
     * Linux knobs are looked up by name among the channel's options, so nothing beyond java.*
     * is imported.
     */
    @SuppressWarnings("unchecked")
    private static void probeForDeath(SocketChannel channel, int deadPeerSeconds) throws IOException {
        if (deadPeerSeconds <= 0) {
            return;
        }
        channel.setOption(StandardSocketOptions.SO_KEEPALIVE, true);
        int step = Math.max(1, deadPeerSeconds / 4);
        for (SocketOption<?> option : channel.supportedOptions()) {
            switch (option.name()) {
            case "TCP_KEEPIDLE", "TCP_KEEPINTERVAL" -> channel.setOption((SocketOption<Integer>) option, step);
            case "TCP_KEEPCOUNT" -> channel.setOption((SocketOption<Integer>) option, 3);
            default -> { }
            }
        }
    }

    private void serve(SocketChannel channel, boolean unix, String id) {
        String address = unix ? "unix" : remote(channel);
        negotiating.add(channel);
        ScheduledFuture<?> timeout = timer.schedule(() -> {
            LOG.info("NBD {} from {}: negotiation took longer than {} ms, closing", id, address,
                    settings.handshakeTimeoutMillis());
            close(channel);
        }, settings.handshakeTimeoutMillis(), TimeUnit.MILLISECONDS);
        Negotiation.Outcome agreed;
        try {
            if (!unix) {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                probeForDeath(channel, settings.deadPeerSeconds());
            } else {
                // a unix socket's default send buffer (~200 KiB) splits a 1 MiB READ reply into
                // several blocking writes, each waiting for the client to drain; TCP tunes its own
                channel.setOption(StandardSocketOptions.SO_SNDBUF, UNIX_SEND_BUFFER);
            }
            Wire wire = new ChannelWire(channel, !unix, unix && settings.unixSendfile());
            boolean tlsRequired = settings.tls() != null && !unix;
            agreed = new Negotiation(wire, new Peer(address, unix), catalog, unix ? null : settings.tls(),
                    tlsRequired, settings.limits(), state).run();
        } catch (IOException | RuntimeException e) {
            LOG.info("NBD {} from {} ended during negotiation: {}", id, address, e.getMessage());
            close(channel);
            return;
        } finally {
            timeout.cancel(false);
            negotiating.remove(channel);
        }
        Session session = new Session(id, agreed, settings.limits(), pool, state);
        sessions.add(session);
        LOG.info("NBD {} from {} opened export {}", id, address, agreed.export().name());
        try {
            if (state.stopping()) {
                session.shutdown();
            }
            session.run();
        } finally {
            sessions.remove(session);
        }
    }

    /** Closes every connection of an attachment at once: it was fenced. */
    int closeAttachment(String attachmentId, String reason) {
        int n = 0;
        for (Session s : sessions) {
            if (attachmentId.equals(s.export().attachmentId())) {
                s.close(reason);
                n++;
            }
        }
        return n;
    }

    /**
     * Orderly stop: listeners close, sessions stop reading and serve and answer every request
     * already read, then every connection closes. Only a request held for an engine that is
     * away goes unanswered: a reconnecting client resends it to the next server, so replacing
     * cairn.nbd costs such a client a reconnect rather than an I/O error.
     */
    void stop(long graceMillis) {
        state.stop();
        closeListeners();
        for (SocketChannel c : negotiating) {
            close(c);
        }
        for (Session s : sessions) {
            s.shutdown();
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
        for (Session s : sessions) {
            try {
                s.awaitWorkers(Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Session s : sessions) {
            s.close("server stopped");
        }
        for (Thread t : acceptors) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        timer.shutdownNow();
        if (settings.unixSocket() != null) {
            try {
                Files.deleteIfExists(settings.unixSocket());
            } catch (IOException e) {
                LOG.debug("could not remove {}: {}", settings.unixSocket(), e.toString());
            }
        }
    }

    private synchronized void closeListeners() {
        for (ServerSocketChannel l : listeners) {
            try {
                l.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    private static String remote(SocketChannel channel) {
        try {
            return String.valueOf(channel.getRemoteAddress());
        } catch (IOException e) {
            return "?";
        }
    }

    private static void close(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // already gone
        }
    }
}
