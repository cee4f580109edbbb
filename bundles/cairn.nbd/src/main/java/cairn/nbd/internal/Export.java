package cairn.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.function.Consumer;

/**
 * One opened export as a connection sees it: the narrow surface the protocol layer
 * needs from the block storage engine. Methods may be called from several worker
 * threads at once. Errors are {@link NbdError}s carrying the protocol's error value;
 * any other {@link IOException} is reported as EIO.
 */
interface Export {

    /** The name the client used to open it. */
    String name();

    /** Size in bytes; fixed for the life of a connection. */
    long size();

    /** Who this export belongs to: sessions of one attachment are closed together when it is fenced. */
    String attachmentId();

    boolean readOnly();

    /** True only when FLUSH and FUA effects are visible across every connection to the volume. */
    boolean multiConn();

    /** Whether zeroing this range is done in metadata, not by writing bytes (NBD_CMD_FLAG_FAST_ZERO). */
    boolean canZeroFast(long offset, long length, boolean mayPunch) throws IOException;

    /** Fills {@code dst} from its position to its limit with the bytes at {@code offset}. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * The bytes at {@code offset} as a region the connection sends to its socket itself
     * (without a copy through this process where the transport allows), or null when this
     * range must be read with {@link #read}. Fails as {@link #read} would.
     */
    default Region region(long offset, int length) throws IOException {
        return null;
    }

    /**
     * The bytes at {@code offset} as a region whose {@link Region#memory} holds them (the
     * volume's storage mapped, the bytes in the page cache), or null when this range must be
     * read with {@link #read}. Fails as {@link #read} would.
     */
    default Region mapped(long offset, int length) throws IOException {
        return null;
    }

    /** Writes {@code src} from its position to its limit at {@code offset}; durable on return when {@code fua}. */
    void write(long offset, ByteBuffer src, boolean fua) throws IOException;

    /** Makes every write already acknowledged durable. */
    void flush() throws IOException;

    /** The range is no longer needed; it may read back as anything until written again. */
    void trim(long offset, long length, boolean fua) throws IOException;

    /**
     * The range reads back as zeroes afterwards. {@code mayPunch}: the server may free
     * the space (no NO_HOLE flag).
     */
    void writeZeroes(long offset, long length, boolean mayPunch, boolean fua) throws IOException;

    /**
     * Describes allocation from {@code offset} for at most {@code length} bytes in at most
     * {@code maxExtents} extents, each with base:allocation flags.
     */
    void blockStatus(long offset, long length, int maxExtents, ExtentSink sink) throws IOException;

    /**
     * False when a request may have to wait for the storage to come back (an engine restart):
     * the connection then sends the replies it holds before it runs one.
     */
    default boolean ready() {
        return true;
    }

    /** The connection that opened it is gone. */
    void close();

    /**
     * Registers who to tell when the export ends for good (its attachment was fenced), so
     * the connection closes at once instead of at its next request. Called once.
     */
    void onFenced(Consumer<String> closer);

    /** A range of an export on its way to a socket; see {@link Export#region}. */
    interface Region extends AutoCloseable {

        /** Sends the whole range to {@code target}; when this throws, part of it may have gone. */
        void sendTo(WritableByteChannel target) throws IOException;

        /**
         * The range as read-only mapped memory (a region from {@link Export#mapped}), else null.
         * Only the kernel may read it: see {@link Wire#writesMappedMemory}.
         */
        default ByteBuffer memory() {
            return null;
        }

        @Override
        void close();
    }

    /** Receives block status extents in order. */
    interface ExtentSink {
        void extent(long length, int flags);
    }
}
