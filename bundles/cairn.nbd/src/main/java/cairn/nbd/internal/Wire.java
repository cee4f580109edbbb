package cairn.nbd.internal;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

import javax.net.ssl.SSLEngine;

/** The byte stream of one connection: plain socket channel, or TLS after STARTTLS. */
interface Wire extends Closeable {

    /**
     * Reads what is available into {@code dst}, blocking until at least one byte is (when
     * {@code dst} has room). Returns the count, or -1 at end of stream.
     */
    int read(ByteBuffer dst) throws IOException;

    /** Reads until {@code dst} is full; {@link EOFException} when the peer closed first. */
    default void readFully(ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            if (read(dst) < 0) {
                throw new EOFException("peer closed the connection");
            }
        }
    }

    /** Writes every buffer completely, in order. Callers serialize writes. */
    void write(ByteBuffer... srcs) throws IOException;

    /**
     * The channel under this wire when bytes may go to it as they are (no TLS), so a READ
     * reply's data can be sent from the file straight to the socket; else null. Writes to it
     * follow the same rule as {@link #write}: callers serialize them.
     */
    default WritableByteChannel plainChannel() {
        return null;
    }

    /**
     * Whether a READ reply's data may be written from mapped memory of the volume (see
     * {@link Export#mapped}): true where only the kernel reads what is written (a plain socket
     * copies it in a system call, which fails cleanly if a page cannot be read), false where
     * code of this process reads it (TLS encrypts it here), or where {@link #plainChannel}
     * sends it better.
     */
    default boolean writesMappedMemory() {
        return false;
    }

    /** Whether this wire decrypts what it reads (TLS): reading then costs as much as handling. */
    default boolean encrypted() {
        return false;
    }

    /** Whether {@link #startTls} can work on this transport. */
    boolean tlsCapable();

    /**
     * Runs the server side of a TLS handshake with {@code engine} (server mode, client
     * certificate required); returns the TLS wire, which owns the engine from here on.
     */
    TlsWire startTls(SSLEngine engine) throws IOException;

    /** Makes a blocked {@link #readFully} return with end of stream; replies can still be written. */
    void shutdownInput();

    @Override
    void close();

    /** Ends an orderly session (after NBD_CMD_DISC or the client's close): as quietly as the transport allows. */
    default void finish() {
        close();
    }
}
