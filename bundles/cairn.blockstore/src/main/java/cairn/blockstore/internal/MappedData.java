package cairn.blockstore.internal;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A volume's data file mapped read-only, in chunks of {@link #CHUNK} mapped on first use, so
 * that a read whose bytes are all in the page cache goes to a socket straight from there: the
 * kernel copies them once, into the socket, where a read into a buffer of this process copies
 * them twice (bench/RESULTS.md: the pread was a third of the server's CPU on 1 MiB reads).
 *
 * <p>Only ranges already in the page cache are served from the mapping. Any other read goes
 * through {@code pread}, which has the kernel's read-ahead and reports a disk error as a
 * failed request; faulting pages in through a mapping would do neither.
 *
 * <p>Mappings cost address space and page tables (8 bytes for every 4 KiB touched), so all
 * volumes of an engine share a {@link Budget} of mapped bytes; a chunk that does not fit in it
 * is not mapped and its reads use {@code pread}. Chunks stay mapped until the volume closes.
 * Pages sent this way count in the process's resident size (they are the page cache's, shared,
 * and reclaimed like any cached file data), so the appliance's RSS grows with the volume data
 * it has read recently; the heap does not.
 */
final class MappedData {

    private static final Logger LOG = LoggerFactory.getLogger(MappedData.class);
    static final int CHUNK_SHIFT = 30;
    static final long CHUNK = 1L << CHUNK_SHIFT;

    /** Mapped bytes all volumes of an engine may hold together. Thread-safe. */
    static final class Budget {
        private final AtomicLong left;

        Budget(long bytes) {
            left = new AtomicLong(Math.max(0, bytes));
        }

        boolean take(long bytes) {
            long l;
            do {
                l = left.get();
                if (l < bytes) {
                    return false;
                }
            } while (!left.compareAndSet(l, l - bytes));
            return true;
        }

        void give(long bytes) {
            left.addAndGet(bytes);
        }

        long left() {
            return left.get();
        }
    }

    private final FileChannel file;
    private final Budget budget;
    /** Chunk i maps [i * CHUNK, i * CHUNK + capacity); null where not mapped. Replaced whole under this. */
    private volatile MappedByteBuffer[] chunks = new MappedByteBuffer[0];
    private boolean closed; // guarded by this

    MappedData(FileChannel file, Budget budget) {
        this.file = file;
        this.budget = budget;
    }

    /**
     * A read-only buffer of {@code [offset, offset+length)} of the file (at most {@code size}
     * long), or null when that range is not in the page cache right now, lies across two
     * chunks or does not fit in the budget. Valid until {@link #close}.
     */
    ByteBuffer slice(long offset, int length, long size) throws IOException {
        if (length <= 0 || offset < 0 || offset + length > size) {
            return null;
        }
        int c = (int) (offset >>> CHUNK_SHIFT);
        if (((offset + length - 1) >>> CHUNK_SHIFT) != c) {
            return null;
        }
        int from = (int) (offset - ((long) c << CHUNK_SHIFT));
        MappedByteBuffer[] cs = chunks;
        MappedByteBuffer m = c < cs.length ? cs[c] : null;
        if (m == null || m.capacity() < from + length) {
            m = map(c, size);
            if (m == null) {
                return null;
            }
        }
        MappedByteBuffer s = m.slice(from, length);
        // mincore(2): every page present, so sending it neither waits for the disk nor faults on an error
        return s.isLoaded() ? s : null;
    }

    /**
     * Maps chunk {@code c} as far as the file reaches now. A chunk mapped before the volume
     * grew is mapped again, longer; the shorter mapping may still be in use by a reply, so it
     * is left to the garbage collector, which unmaps it once nothing refers to it.
     */
    private synchronized MappedByteBuffer map(int c, long size) throws IOException {
        if (closed) {
            return null;
        }
        long start = (long) c << CHUNK_SHIFT;
        long length = Math.min(CHUNK, size - start);
        MappedByteBuffer[] cs = chunks;
        MappedByteBuffer old = c < cs.length ? cs[c] : null;
        if (old != null && old.capacity() >= length) {
            return old; // another thread mapped it meanwhile
        }
        long extra = length - (old == null ? 0 : old.capacity());
        if (!budget.take(extra)) {
            return null;
        }
        MappedByteBuffer m;
        try {
            m = file.map(FileChannel.MapMode.READ_ONLY, start, length);
        } catch (IOException | RuntimeException e) {
            budget.give(extra);
            throw e;
        }
        MappedByteBuffer[] next = Arrays.copyOf(cs, Math.max(cs.length, c + 1));
        next[c] = m;
        chunks = next;
        return m;
    }

    /**
     * Gives the chunks' budget back. With {@code unmap} (no slice is in use any more) the
     * mappings end at once, so a deleted volume's file frees its space now; otherwise the
     * garbage collector unmaps them once the last slice is gone.
     */
    synchronized void close(boolean unmap) {
        closed = true;
        MappedByteBuffer[] cs = chunks;
        chunks = new MappedByteBuffer[0];
        for (MappedByteBuffer m : cs) {
            if (m != null) {
                budget.give(m.capacity());
                if (unmap) {
                    Unmapper.unmap(m);
                }
            }
        }
    }

    /** How many bytes are mapped (for tests). */
    long mappedBytes() {
        long n = 0;
        for (MappedByteBuffer m : chunks) {
            n += m == null ? 0 : m.capacity();
        }
        return n;
    }

    /**
     * Ends a mapping now. Java 17 offers no public way; {@code sun.misc.Unsafe.invokeCleaner}
     * (module jdk.unsupported, exported by the framework) does it. Without it the garbage
     * collector unmaps later.
     */
    private static final class Unmapper {
        private static final Object UNSAFE;
        private static final Method INVOKE_CLEANER;

        static {
            Object unsafe = null;
            Method invoke = null;
            try {
                Class<?> c = Class.forName("sun.misc.Unsafe");
                Field f = c.getDeclaredField("theUnsafe");
                f.setAccessible(true);
                unsafe = f.get(null);
                invoke = c.getMethod("invokeCleaner", ByteBuffer.class);
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                LOG.info("volume mappings are released by the garbage collector: {}", e.toString());
            }
            UNSAFE = unsafe;
            INVOKE_CLEANER = invoke;
        }

        static void unmap(MappedByteBuffer m) {
            if (INVOKE_CLEANER == null) {
                return;
            }
            try {
                INVOKE_CLEANER.invoke(UNSAFE, m);
            } catch (ReflectiveOperationException | RuntimeException e) {
                LOG.warn("cannot unmap a volume mapping now; the garbage collector will: {}", e.toString());
            }
        }
    }
}
