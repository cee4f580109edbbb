package cairn.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;

import io.netty.util.ReferenceCounted;

/**
 * The connection after STARTTLS: an {@link SSLEngine} over the blocking socket channel.
 * Records are decrypted straight into the caller's buffer when it has room for a whole one
 * (the request buffer, a WRITE payload), and replies are encrypted from the caller's direct
 * buffers into one outgoing buffer that holds many full-size records, so a large reply
 * leaves in a few writes with no copy through the heap.
 *
 * <p>One thread reads (the connection's); writes come from any thread and are serialized
 * here, as are the records the engine must send on its own while reading (TLS 1.3 key
 * updates).
 */
final class TlsWire implements Wire {

    static final String[] PROTOCOLS = { "TLSv1.3", "TLSv1.2" };
    /** Full-size records per channel write. */
    private static final int RECORDS_PER_WRITE = 16;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SocketChannel channel;
    private final ChannelWire plain;
    private final SSLEngine engine;
    private final int appSize;
    private final int packetSize;
    /** Ciphertext buffers are direct for engines in native code, heap for the JDK's (see the constructor). */
    private final boolean directNet;
    /** Ciphertext read but not yet decrypted; read mode between calls. Reader only. */
    private ByteBuffer netIn;
    /** Plaintext decrypted but not yet handed out; read mode between calls. Reader only. */
    private final ByteBuffer appIn;
    /** Ciphertext to send; guarded by {@link #writeLock}. */
    private final ByteBuffer netOut;
    private final Object writeLock = new Object();
    private boolean inputEnded;
    /** Reader only: raised while {@link #readFully} waits for bytes the client owes. */
    private final LowWater lowWater;
    /** The buffer {@link #readFully} is filling, or null. Reader only. */
    private ByteBuffer owed;

    /**
     * The JDK's enabled suites with AES-128-GCM first, then the rest in their order: the
     * server's choice (every client here offers it). AES-128 is as safe for this use as
     * AES-256 and this JDK runs it 10-15% faster; the data path of a TLS connection is bound
     * by the cipher. ChaCha20 keeps its place behind AES-GCM (slow in Java 17).
     */
    static String[] preferredOrder(String[] enabled) {
        List<String> first = new ArrayList<>();
        List<String> rest = new ArrayList<>();
        for (String suite : enabled) {
            (suite.contains("_AES_128_GCM_") ? first : rest).add(suite);
        }
        first.addAll(rest);
        return first.toArray(String[]::new);
    }

    private TlsWire(SocketChannel channel, ChannelWire plain, SSLEngine engine) {
        this.channel = channel;
        this.plain = plain;
        this.engine = engine;
        this.appSize = engine.getSession().getApplicationBufferSize();
        this.packetSize = engine.getSession().getPacketBufferSize();
        // BoringSSL works on direct buffers in place, and the socket sends from them as they
        // are. The JDK's AES-GCM instead seals and opens records 20-25% faster in heap buffers
        // (measured: 1 MiB in 640 instead of 835 us), more than the copy the socket then
        // makes through its own direct buffer. Plaintext may be direct for both.
        this.directNet = engine instanceof ReferenceCounted;
        this.netIn = allocateNet(packetSize * RECORDS_PER_WRITE).flip();
        // room for any record's plaintext by either engine's measure (BoringSSL's counts the record's tag)
        this.appIn = ByteBuffer.allocateDirect(Math.max(appSize, packetSize)).flip();
        this.netOut = allocateNet(packetSize * RECORDS_PER_WRITE);
        this.lowWater = plain.lowWater();
    }

    private ByteBuffer allocateNet(int size) {
        return directNet ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
    }

    /**
     * Runs the server side of the handshake on {@code channel}; the engine is set up (client
     * auth, protocols). The wire owns the engine: a failed handshake releases it.
     */
    static TlsWire handshake(SocketChannel channel, ChannelWire plain, SSLEngine engine) throws IOException {
        try {
            TlsWire w = new TlsWire(channel, plain, engine);
            w.handshake();
            return w;
        } catch (IOException | RuntimeException e) {
            release(engine);
            throw e;
        }
    }

    /** Frees the native state of an engine in native code (BoringSSL); nothing for the JDK's. */
    static void release(SSLEngine engine) {
        if (engine instanceof ReferenceCounted counted) {
            // the engine's own lock: close may come from two threads at once
            synchronized (engine) {
                if (counted.refCnt() > 0) {
                    counted.release();
                }
            }
        }
    }

    private void handshake() throws IOException {
        engine.beginHandshake();
        HandshakeStatus hs = engine.getHandshakeStatus();
        ByteBuffer scratch = ByteBuffer.allocate(Math.max(appSize, packetSize));
        while (true) {
            if (hs == HandshakeStatus.FINISHED) {
                // TLS 1.3 servers may still owe a record (session ticket); they never wait for one here
                hs = engine.getHandshakeStatus();
                if (hs != HandshakeStatus.NEED_WRAP && hs != HandshakeStatus.NEED_TASK) {
                    return;
                }
            }
            switch (hs) {
            case NOT_HANDSHAKING:
                return;
            case NEED_TASK:
                runTasks();
                hs = engine.getHandshakeStatus();
                break;
            case NEED_WRAP:
                synchronized (writeLock) {
                    SSLEngineResult r = engine.wrap(EMPTY, netOut);
                    sendNetOut();
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SSLException("TLS handshake closed by the engine");
                    }
                    hs = r.getHandshakeStatus();
                }
                break;
            case NEED_UNWRAP:
            case NEED_UNWRAP_AGAIN:
                scratch.clear();
                SSLEngineResult r = engine.unwrap(netIn, scratch);
                if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                    if (readNet() < 0) {
                        throw new EOFException("peer closed the connection during the TLS handshake");
                    }
                } else if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    throw new SSLException("peer closed TLS during the handshake");
                } else if (r.bytesProduced() > 0) {
                    // the client pipelined application data behind its Finished: keep it for read()
                    scratch.flip();
                    appIn.compact();
                    appIn.put(scratch).flip();
                }
                hs = r.getHandshakeStatus();
                break;
            default:
                throw new SSLException("unexpected handshake state " + hs);
            }
        }
    }

    private void runTasks() {
        Runnable task;
        while ((task = engine.getDelegatedTask()) != null) {
            task.run();
        }
    }

    /** Reads more ciphertext into {@link #netIn}; the count, or -1 at end of stream. */
    private int readNet() throws IOException {
        netIn.compact();
        try {
            if (!netIn.hasRemaining()) {
                // a record larger than the buffer (the peer negotiated larger records): grow once
                ByteBuffer bigger = allocateNet(netIn.capacity() * 2);
                netIn.flip();
                bigger.put(netIn);
                netIn = bigger;
            }
            // the ciphertext in netIn opens to at most its own length: the rest is still to come
            lowWater.require(owed == null ? 1 : owed.remaining() - netIn.position());
            return channel.read(netIn);
        } finally {
            netIn.flip();
        }
    }

    @Override
    public boolean encrypted() {
        return true;
    }

    String cipherSuite() {
        return engine.getSession().getCipherSuite();
    }

    X509Certificate peerCertificate() throws SSLPeerUnverifiedException {
        Certificate[] chain = engine.getSession().getPeerCertificates();
        return (X509Certificate) chain[0];
    }

    /** As {@link Wire#readFully}, with the socket waking this thread only once much of what is owed has come. */
    @Override
    public void readFully(ByteBuffer dst) throws IOException {
        owed = dst;
        try {
            Wire.super.readFully(dst);
        } finally {
            owed = null;
        }
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return 0;
        }
        while (true) {
            if (appIn.hasRemaining()) {
                int n = Math.min(appIn.remaining(), dst.remaining());
                dst.put(dst.position(), appIn, appIn.position(), n);
                dst.position(dst.position() + n);
                appIn.position(appIn.position() + n);
                return n;
            }
            if (inputEnded) {
                return -1;
            }
            int produced = 0;
            boolean overflow = false;
            // decrypt every complete record already here, straight into dst while a whole one fits
            while (dst.remaining() >= packetSize && netIn.hasRemaining()) {
                SSLEngineResult r = engine.unwrap(netIn, dst);
                afterUnwrap(r);
                produced += r.bytesProduced();
                overflow = r.getStatus() == SSLEngineResult.Status.BUFFER_OVERFLOW;
                if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() == 0) {
                    break;
                }
            }
            if (produced > 0) {
                return produced;
            }
            if (inputEnded) {
                return -1;
            }
            // a record dst has no room for (an engine may want more than the plaintext takes) goes through appIn
            if ((overflow || dst.remaining() < packetSize) && netIn.hasRemaining()) {
                appIn.clear();
                SSLEngineResult r;
                try {
                    r = engine.unwrap(netIn, appIn);
                } finally {
                    appIn.flip();
                }
                afterUnwrap(r);
                if (r.getStatus() == SSLEngineResult.Status.OK && r.bytesConsumed() > 0) {
                    continue;
                }
                if (inputEnded) {
                    continue;
                }
            }
            if (readNet() < 0) {
                inputEnded = true;
            }
        }
    }

    private void afterUnwrap(SSLEngineResult r) throws IOException {
        if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
            inputEnded = true; // the client's close_notify
        }
        HandshakeStatus hs = r.getHandshakeStatus();
        if (hs == HandshakeStatus.NEED_TASK) {
            runTasks();
            hs = engine.getHandshakeStatus();
        }
        if (hs == HandshakeStatus.NEED_WRAP && !engine.isOutboundDone()) {
            // a post-handshake message (TLS 1.3 key update) wants an answer now
            write(EMPTY);
        }
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        synchronized (writeLock) {
            do {
                // many records per channel write: a 1 MiB READ reply leaves in a handful of writes
                while (netOut.remaining() >= packetSize) {
                    SSLEngineResult r = engine.wrap(srcs, netOut);
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        // what the engine produced is its close_notify (BoringSSL answers the client's at once)
                        sendNetOut();
                        if (anyRemaining(srcs)) {
                            throw new SSLException("TLS output is closed");
                        }
                        return;
                    }
                    if (r.getHandshakeStatus() == HandshakeStatus.NEED_TASK) {
                        runTasks();
                    } else if (r.bytesConsumed() == 0 && r.bytesProduced() == 0) {
                        break;
                    }
                    if (!anyRemaining(srcs) && engine.getHandshakeStatus() != HandshakeStatus.NEED_WRAP) {
                        break;
                    }
                }
                sendNetOut();
            } while (anyRemaining(srcs));
        }
    }

    /** Writes {@link #netOut} (write mode) completely, leaving it empty; under the write lock. */
    private void sendNetOut() throws IOException {
        netOut.flip();
        try {
            while (netOut.hasRemaining()) {
                channel.write(netOut);
            }
        } finally {
            netOut.clear();
        }
    }

    private static boolean anyRemaining(ByteBuffer[] srcs) {
        for (ByteBuffer b : srcs) {
            if (b.hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean tlsCapable() {
        return false;
    }

    @Override
    public TlsWire startTls(SSLEngine other) throws IOException {
        release(other);
        throw new IOException("TLS is already running");
    }

    @Override
    public void shutdownInput() {
        // ending the raw input ends the TLS input too
        plain.shutdownInput();
    }

    /**
     * Sends close_notify, then waits (bounded) for the client's close_notify or its close,
     * and only then closes: gnutls clients report a connection reset at their shutdown as
     * an error.
     */
    @Override
    public void finish() {
        try {
            synchronized (writeLock) {
                engine.closeOutbound();
                while (!engine.isOutboundDone()) {
                    engine.wrap(EMPTY, netOut);
                    sendNetOut();
                }
            }
            // the client's close_notify is small: wake for any byte again
            lowWater.require(1);
            channel.socket().setSoTimeout(2000);
            // the socket adaptor's stream honours the timeout, the channel's own reads do not
            InputStream raw = channel.socket().getInputStream();
            byte[] chunk = new byte[16 * 1024];
            ByteBuffer scratch = ByteBuffer.allocate(Math.max(appSize, packetSize));
            while (!inputEnded) {
                scratch.clear();
                SSLEngineResult r = netIn.hasRemaining() ? engine.unwrap(netIn, scratch) : null;
                if (r != null && r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    break;
                }
                if (r == null || r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW || r.bytesConsumed() == 0) {
                    int n = raw.read(chunk);
                    if (n < 0) {
                        break;
                    }
                    netIn.compact();
                    if (netIn.remaining() < n) {
                        netIn.flip();
                        ByteBuffer bigger = allocateNet(netIn.remaining() + n + packetSize);
                        bigger.put(netIn);
                        netIn = bigger;
                    }
                    netIn.put(chunk, 0, n).flip();
                }
            }
        } catch (SocketTimeoutException e) {
            // the client neither answered nor closed in time
        } catch (IOException | RuntimeException e) {
            // the client went away without close_notify: nothing more to be polite about
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        plain.close();
        // the engine's methods are synchronized: a wrap still running on another thread ends first,
        // and any call after this one fails as on a closed engine
        release(engine);
    }
}
