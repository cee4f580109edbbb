package cairn.nbd.internal;

import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSocket;

/** The connection after STARTTLS: JSSE streams, copied through one scratch array per direction. */
final class TlsWire implements Wire {

    static final String[] PROTOCOLS = { "TLSv1.3", "TLSv1.2" };

    private final SSLSocket socket;
    private final ChannelWire plain;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] readScratch = new byte[64 * 1024];
    private final byte[] writeScratch = new byte[64 * 1024];

    TlsWire(SSLSocket socket, ChannelWire plain) throws IOException {
        this.socket = socket;
        this.plain = plain;
        this.in = socket.getInputStream();
        // one TLS record for a reply header and its data instead of two
        this.out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
    }

    X509Certificate peerCertificate() throws SSLPeerUnverifiedException {
        Certificate[] chain = socket.getSession().getPeerCertificates();
        return (X509Certificate) chain[0];
    }

    @Override
    public void readFully(ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            int n;
            if (dst.hasArray()) {
                n = in.read(dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
                if (n > 0) {
                    dst.position(dst.position() + n);
                }
            } else {
                n = in.read(readScratch, 0, Math.min(readScratch.length, dst.remaining()));
                if (n > 0) {
                    dst.put(readScratch, 0, n);
                }
            }
            if (n < 0) {
                throw new EOFException("peer closed the connection");
            }
        }
    }

    @Override
    public void write(ByteBuffer... srcs) throws IOException {
        for (ByteBuffer b : srcs) {
            if (b.hasArray()) {
                out.write(b.array(), b.arrayOffset() + b.position(), b.remaining());
                b.position(b.limit());
            } else {
                while (b.hasRemaining()) {
                    int n = Math.min(writeScratch.length, b.remaining());
                    b.get(writeScratch, 0, n);
                    out.write(writeScratch, 0, n);
                }
            }
        }
        out.flush();
    }

    @Override
    public boolean tlsCapable() {
        return false;
    }

    @Override
    public TlsWire startTls(SSLContext context) throws IOException {
        throw new IOException("TLS is already running");
    }

    @Override
    public void shutdownInput() {
        // SSLSocket refuses half-close; ending the raw input ends the TLS input stream too.
        plain.shutdownInput();
    }

    /**
     * Sends close_notify alone, then reads until the client's close_notify (bounded), and
     * only then closes. A plain close of a TLS 1.3 socket whose input is still open sends
     * user_canceled first, which gnutls clients report as a fatal alert at their shutdown.
     */
    @Override
    public void finish() {
        try {
            socket.setSoTimeout(2000);
            socket.shutdownOutput();
            while (in.read(readScratch) >= 0) {
                // discard whatever the client still sends before its close_notify
            }
        } catch (IOException | RuntimeException e) {
            // the client went away without close_notify: nothing more to be polite about
        } finally {
            close();
        }
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // nothing left to release
        }
        plain.close();
    }
}
