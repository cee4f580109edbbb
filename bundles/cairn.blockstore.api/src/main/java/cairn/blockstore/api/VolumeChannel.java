package cairn.blockstore.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

import org.osgi.annotation.versioning.ProviderType;

/**
 * One client connection's access to a volume, bound to one attachment and its epoch.
 * While any channel of an attachment is open, its lease is held.
 *
 * <p>Thread-safe: the NBD server may issue requests from several threads at once and
 * reply out of order. Offsets and lengths are in bytes; any alignment is accepted
 * ({@link VolumeService#PREFERRED_BLOCK_SIZE} is fastest); a request must lie within
 * {@link #size()} and be at most {@link VolumeService#MAX_REQUEST_BYTES} long, or it fails
 * with {@link IllegalArgumentException} and changes nothing.
 *
 * <p>Every I/O method throws {@link AttachmentFencedException} once the attachment is
 * fenced (final: close the connection) and {@link EngineUnavailableException} while the
 * engine goes away (not final: reopen on the returning service and retry). Other
 * {@link IOException}s are I/O errors of this request (NBD_EIO).
 */
@ProviderType
public interface VolumeChannel extends AutoCloseable {

    String volumeId();

    String attachmentId();

    /** The epoch this channel is bound to. */
    long epoch();

    /** The NBD export name of the attachment. */
    String exportName();

    /** The volume's current size; it only grows (online resize), never shrinks. */
    long size() throws IOException;

    /** Fills {@code dst} from its position to its limit with the bytes at {@code offset}. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /**
     * The bytes at {@code [offset, offset+length)} as a region of the volume's storage that the
     * caller sends to a channel itself, so that they need not pass through a buffer of this
     * process (on Linux the kernel moves them from the page cache to a socket: sendfile).
     * Empty when this range has to be read with {@link #read} (the default). Checked and
     * counted like a read when it is returned, and failing like one (fenced, unavailable,
     * out of range). A fence or an engine restart does not wait for a region's bytes to leave,
     * but closing the volume waits a bounded time for open regions. Close it when done.
     *
     * @since 1.3
     */
    default Optional<Region> region(long offset, int length) throws IOException {
        return Optional.empty();
    }

    /**
     * The bytes at {@code [offset, offset+length)} as memory of this process, for a caller that
     * writes them to a socket itself: the volume's storage mapped read-only, offered only while
     * those bytes are all in the page cache, so that a socket write copies them from there once
     * instead of through a buffer. The region's {@link Region#memory} is present. Empty when
     * this range has to be read with {@link #read} (the default). Checked and counted like a
     * read when it is returned, and failing like one. Valid until closed: close it when done,
     * and let only the kernel read the memory (a system call on it fails cleanly where a read
     * of a page the disk cannot deliver would stop this process).
     *
     * @since 1.4
     */
    default Optional<Region> mapped(long offset, int length) throws IOException {
        return Optional.empty();
    }

    /**
     * A range of a volume's storage on its way to a channel; see {@link VolumeChannel#region}
     * and {@link VolumeChannel#mapped}.
     */
    interface Region extends AutoCloseable {

        /** Bytes in the region. */
        int length();

        /**
         * The region's bytes as a read-only buffer of mapped memory when it has them (a region
         * from {@link VolumeChannel#mapped}); a new buffer on every call, valid until close.
         *
         * @since 1.4
         */
        default Optional<ByteBuffer> memory() {
            return Optional.empty();
        }

        /**
         * Sends every byte of the region to {@code target} (a blocking channel). When this
         * throws, some of the bytes may already have gone.
         */
        void sendTo(WritableByteChannel target) throws IOException;

        /** Releases the region. Idempotent; never throws. */
        @Override
        void close();
    }

    /**
     * Writes the bytes of {@code src} from its position to its limit at {@code offset}.
     * With {@code fua} the write is on stable storage before this returns. When the volume
     * is mirrored, returns only after the mirror also has it.
     */
    void write(long offset, ByteBuffer src, boolean fua) throws IOException;

    /** Every write acknowledged before this call is on stable storage when it returns. */
    void flush() throws IOException;

    /**
     * The client no longer needs these bytes: afterwards they read as zeros. Whole 64 KiB
     * tracking blocks become holes; the ends are zeroed.
     */
    void trim(long offset, long length) throws IOException;

    /**
     * The bytes read as zeros afterwards. Without {@code noHole} whole tracking blocks may
     * become holes; with it storage stays allocated.
     */
    void writeZeroes(long offset, long length, boolean noHole, boolean fua) throws IOException;

    /**
     * Whether {@link #writeZeroes} of this range would be fast, i.e. done in metadata
     * without writing the bytes (NBD's FAST_ZERO: the server answers ENOTSUP otherwise).
     */
    boolean canZeroFast(long offset, long length, boolean noHole) throws IOException;

    /**
     * Allocation status of {@code [offset, offset+length)} in contiguous extents, in order,
     * the first starting at {@code offset}; the last may end before {@code offset+length}
     * (never after {@link #size()}) when the answer would be long.
     */
    List<Extent> blockStatus(long offset, long length) throws IOException;

    /** Whether the channel is still usable (not closed, not fenced). */
    boolean isOpen();

    /**
     * Called once, from an engine thread, when the attachment is fenced or the engine goes
     * away, so the NBD server can close the connection promptly instead of waiting for the
     * next request. The argument is the exception later I/O will throw. Must not block.
     */
    void onClose(Consumer<IOException> listener);

    /** Ends the connection's hold on the lease. Idempotent; never throws. */
    @Override
    void close();
}
