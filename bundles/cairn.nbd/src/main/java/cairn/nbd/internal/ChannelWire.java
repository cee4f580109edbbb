package cairn.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/** A blocking socket channel (TCP or unix): reads and gathering writes straight from direct buffers. */
final class ChannelWire implements Wire {

    private final SocketChannel channel;
    private final boolean tcp;

    ChannelWire(SocketChannel channel, boolean tcp) {
        this.channel = channel;
        this.tcp = tcp;
    }

    @Override
    public void readFully(ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
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

    @Override
    public boolean tlsCapable() {
        // JSSE layers over a java.net.Socket; unix domain channels have no socket adaptor.
        return tcp;
    }

    @Override
    public TlsWire startTls(SSLContext context) throws IOException {
        if (!tcp) {
            throw new IOException("TLS is offered on TCP only");
        }
        Socket raw = channel.socket();
        SSLSocket tls = (SSLSocket) context.getSocketFactory().createSocket(raw, null, true);
        tls.setUseClientMode(false);
        tls.setNeedClientAuth(true);
        tls.setEnabledProtocols(TlsWire.PROTOCOLS);
        tls.startHandshake();
        return new TlsWire(tls, this);
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
