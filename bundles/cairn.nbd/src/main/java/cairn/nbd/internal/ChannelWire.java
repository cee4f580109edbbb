package cairn.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;

import javax.net.ssl.SSLEngine;

/** A blocking socket channel (TCP or unix): reads and gathering writes straight from direct buffers. */
final class ChannelWire implements Wire {

    private final SocketChannel channel;
    private final boolean tcp;
    /** TCP only: a unix socket wakes its reader at every write whatever the mark. */
    private final LowWater lowWater;
    private final boolean sendfile;

    /** {@code sendfile}: READ replies leave from the page cache by sendfile (see {@link #plainChannel}). */
    ChannelWire(SocketChannel channel, boolean tcp, boolean sendfile) {
        this.channel = channel;
        this.tcp = tcp;
        this.sendfile = sendfile;
        this.lowWater = tcp ? LowWater.of(channel) : LowWater.NONE;
    }

    /** The socket's mark: one per socket, shared with the TLS wire that follows STARTTLS. */
    LowWater lowWater() {
        return lowWater;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        lowWater.require(1);
        return channel.read(dst);
    }

    /** Wakes only once much of {@code dst} can be filled: a large WRITE payload is read in a few gulps. */
    @Override
    public void readFully(ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            lowWater.require(dst.remaining());
            if (channel.read(dst) < 0) {
                throw new EOFException("peer closed the connection");
            }
        }
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        ByteBuffer last = srcs[srcs.length - 1];
        if (srcs.length == 1) {
            while (last.hasRemaining()) {
                channel.write(last);
            }
            return;
        }
        // gathering write: the reply header and its data leave in as few syscalls as possible
        while (last.hasRemaining() || anyRemaining(srcs)) {
            channel.write(srcs);
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

    /**
     * Only where chosen (the unix socket's {@code unixReads=sendfile}). A reply sent from the
     * page cache costs the server almost nothing, but the client's read then copies the data out
     * of the page cache itself, cold, and the sending work moves into its receive path. Measured
     * with fio on the same machine (bench/RESULTS.md): over TCP always slower than a copy; over
     * the unix socket 1.7x nbdkit's 1 MiB reads on one machine, 0.8x on another where the copy
     * made 1.45x.
     */
    @Override
    public WritableByteChannel plainChannel() {
        return sendfile ? channel : null;
    }

    /** The kernel copies mapped data into the socket once, where a read into a buffer copies it twice. */
    @Override
    public boolean writesMappedMemory() {
        return !sendfile;
    }

    @Override
    public boolean tlsCapable() {
        // TLS is offered on TCP only: the unix socket is local and guarded by file permissions
        return tcp;
    }

    @Override
    public TlsWire startTls(SSLEngine engine) throws IOException {
        if (!tcp) {
            TlsWire.release(engine);
            throw new IOException("TLS is offered on TCP only");
        }
        return TlsWire.handshake(channel, this, engine);
    }

    @Override
    public void shutdownInput() {
        try {
            channel.shutdownInput();
        } catch (IOException e) {
            close();
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing left to release
        }
    }
}
