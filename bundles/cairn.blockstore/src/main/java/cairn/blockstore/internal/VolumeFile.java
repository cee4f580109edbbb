package cairn.blockstore.internal;

import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Stream;

import cairn.blockstore.api.Extent;
import cairn.blockstore.api.VolumeService;

/**
 * One volume's data: a sparse file ({@code <id>.data}) read and written with positional
 * I/O, its {@link BlockMap}, the changes not yet recorded in Derby, and the point-in-time
 * views open on it.
 *
 * <p>Locking: every request holds {@link #io}'s read lock; fencing, generation cuts, views
 * opening or closing, resizes and closing take its write lock, so they see no request in
 * flight. Within a request, a block whose state changes is handled under its stripe lock.
 * A write to blocks already written and tracked in this generation, with no view open,
 * takes no stripe lock at all: that is the common case and it is one positional write.
 */
final class VolumeFile implements AutoCloseable {

    static final int BLOCK = VolumeService.TRACKING_BLOCK_SIZE;
    private static final int STRIPES = 256;
    private static final int MAX_EXTENTS = 4096;
    /** How long closing waits for regions still being sent. */
    private static final long SEND_DRAIN_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** Read-only zeros; every use takes a duplicate so positions do not interfere. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(BLOCK).asReadOnlyBuffer();

    final String id;
    /** I/O counters since this engine opened the volume: read ops/bytes, write ops/bytes, flushes, zeroes. */
    final LongAdder readOps = new LongAdder();
    final LongAdder readBytes = new LongAdder();
    final LongAdder writeOps = new LongAdder();
    final LongAdder writeBytes = new LongAdder();
    final LongAdder flushOps = new LongAdder();
    final LongAdder zeroOps = new LongAdder();
    final ReentrantReadWriteLock io = new ReentrantReadWriteLock();
    private final Path dir;
    private final Store store;
    private final RandomAccessFile raf;
    private final FileChannel data;
    /** The data file mapped for reads served from the page cache; see {@link #mapped}. */
    private final MappedData mapping;
    private final BlockMap map;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final ConcurrentLinkedQueue<Long> pending = new ConcurrentLinkedQueue<>();
    private final Object foldLock = new Object();
    /** Regions being sent (see {@link #pin}); the array is also the monitor. */
    private final int[] sends = new int[1];
    private final List<ViewImpl> views = new CopyOnWriteArrayList<>();
    private final AtomicInteger viewCounter = new AtomicInteger();
    private volatile long size;
    private long generation; // guarded by foldLock

    private VolumeFile(Path dir, String id, long size, long generation, Store store, MappedData.Budget budget,
            boolean create) throws IOException {
        this.dir = dir;
        this.id = id;
        this.size = size;
        this.generation = generation;
        this.store = store;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
        Path dataPath = dataPath(dir, id);
        if (create) {
            Files.createFile(dataPath);
        } else if (!Files.isRegularFile(dataPath)) {
            throw new IOException("data file " + dataPath + " is missing");
        }
        raf = new RandomAccessFile(dataPath.toFile(), "rw");
        try {
            if (raf.length() < size) {
                // setLength extends sparsely: the new region reads zeros and takes no space.
                raf.setLength(size);
            }
            data = raf.getChannel();
            mapping = new MappedData(data, budget);
            map = new BlockMap(dir.resolve(id + ".blocks"), blocksFor(size), create);
        } catch (IOException | RuntimeException e) {
            raf.close();
            throw e;
        }
    }

    static VolumeFile create(Path dir, String id, long size, long generation, Store store, MappedData.Budget budget)
            throws IOException {
        VolumeFile v = new VolumeFile(dir, id, size, generation, store, budget, true);
        v.data.force(true);
        v.map.force();
        return v;
    }

    /**
     * Adopts an existing volume: changes a crash left unrecorded are recorded now, and
     * views that were open when the engine stopped are removed (a snapshot must retry).
     */
    static VolumeFile open(Path dir, String id, long size, long generation, Store store, MappedData.Budget budget)
            throws IOException {
        VolumeFile v = new VolumeFile(dir, id, size, generation, store, budget, false);
        for (long b = 0; b < v.map.blocks(); b++) {
            if (v.map.tracking(b) == BlockMap.PENDING) {
                v.pending.add(b);
            }
        }
        v.fold();
        try (Stream<Path> leftovers = Files.list(dir)) {
            for (Path p : leftovers.filter(p -> p.getFileName().toString().startsWith(id + ".view-")).toList()) {
                Files.deleteIfExists(p);
            }
        }
        return v;
    }

    static Path dataPath(Path dir, String id) {
        return dir.resolve(id + ".data");
    }

    /** Removes a volume's files; used after its rows are gone or were never committed. */
    static void deleteFiles(Path dir, String id) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith(id + ".")).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static long blocksFor(long size) {
        return (size + BLOCK - 1) / BLOCK;
    }

    long size() {
        return size;
    }

    // ---- requests (caller holds io's read lock)

    void read(long offset, ByteBuffer dst) throws IOException {
        int start = dst.position();
        int len = dst.remaining();
        readFully(data, dst, offset);
        long last = (offset + len - 1) / BLOCK;
        for (long b = offset / BLOCK; b <= last && len > 0; b++) {
            if (map.alloc(b) == BlockMap.TRIMMED) {
                long from = Math.max(offset, b * BLOCK);
                long to = Math.min(offset + len, (b + 1) * BLOCK);
                dst.put(start + (int) (from - offset), ZEROS.duplicate(), 0, (int) (to - from));
            }
        }
    }

    /**
     * Whether {@code [offset, offset+len)} can be sent from the data file as it is: no block
     * in it was trimmed (a trimmed block reads as zeros whatever the file still holds).
     */
    boolean sendable(long offset, int len) {
        long last = (offset + len - 1) / BLOCK;
        for (long b = offset / BLOCK; b <= last && len > 0; b++) {
            if (map.alloc(b) == BlockMap.TRIMMED) {
                return false;
            }
        }
        return true;
    }

    /**
     * {@code [offset, offset+len)} of the data file as read-only memory, or null when it has
     * to be read with {@link #read}: a block in it was trimmed, or it is not all in the page
     * cache (see {@link MappedData}). Valid until {@link #close}; pin it while in use.
     */
    ByteBuffer mapped(long offset, int len) throws IOException {
        long end = size;
        if (offset < 0 || len <= 0 || offset > end - len) {
            return null;
        }
        return sendable(offset, len) ? mapping.slice(offset, len, end) : null;
    }

    /** Bytes of the data file mapped now (for tests). */
    long mappedBytes() {
        return mapping.mappedBytes();
    }

    /**
     * Counts a region on its way out (see {@link ChannelImpl#region}). Caller holds io's read
     * lock, so none is pinned once {@link #close} runs under the write lock.
     */
    void pin() {
        synchronized (sends) {
            sends[0]++;
        }
    }

    void unpin() {
        synchronized (sends) {
            if (--sends[0] == 0) {
                sends.notifyAll();
            }
        }
    }

    /** Sends {@code len} bytes at {@code offset} of the data file to {@code target}. */
    void sendTo(long offset, int len, WritableByteChannel target) throws IOException {
        long pos = offset;
        long end = offset + len;
        while (pos < end) {
            long n = data.transferTo(pos, end - pos, target);
            if (n <= 0) {
                // the data file is as long as the volume, so this is not its end: the target
                // would not take more (a non-blocking channel)
                throw new IOException("sent " + (pos - offset) + " of " + len + " bytes: the channel took no more");
            }
            pos += n;
        }
    }

    void write(long offset, ByteBuffer src) throws IOException {
        int len = src.remaining();
        if (len == 0) {
            return;
        }
        if (views.isEmpty() && steady(offset / BLOCK, (offset + len - 1) / BLOCK)) {
            writeFully(data, src, offset);
            return;
        }
        // Block by block, also where one write could cover the range: the first writes to a
        // volume leave its data in the page cache in block-sized folios (64 KiB). Written in
        // one call they become folios as large as the write (1 MiB), and then every later 4 KiB
        // write dirties a whole MiB: random 4 KiB writes then fell 1.7x over TCP and 3.3x over
        // the unix socket (bench/RESULTS.md run M), far more than the larger folios saved on
        // 1 MiB reads.
        long pos = offset;
        while (src.hasRemaining()) {
            long b = pos / BLOCK;
            int n = (int) Math.min(src.remaining(), (b + 1) * BLOCK - pos);
            ByteBuffer part = src.slice(src.position(), n);
            ReentrantLock lock = lock(b);
            try {
                preserve(b);
                markChanged(b);
                int alloc = map.alloc(b);
                if (alloc == BlockMap.HOLE) {
                    // Mark first: a block marked written may read zeros, never the reverse.
                    map.setAlloc(b, BlockMap.DATA);
                    writeFully(data, part, pos);
                } else if (alloc == BlockMap.TRIMMED) {
                    if (n < blockLength(b)) {
                        // The rest of the block must keep reading zeros once it counts as written.
                        zeroFile(b * BLOCK, blockLength(b));
                        map.setAlloc(b, BlockMap.DATA);
                        writeFully(data, part, pos);
                    } else {
                        // Data first: until it is marked written the block still reads zeros.
                        writeFully(data, part, pos);
                        map.setAlloc(b, BlockMap.DATA);
                    }
                } else {
                    writeFully(data, part, pos);
                }
            } finally {
                lock.unlock();
            }
            src.position(src.position() + n);
            pos += n;
        }
    }

    /**
     * Zeroes a range. Whole blocks become {@code TRIMMED} (metadata only) unless
     * {@code noHole}; partial blocks that hold data get zeros written.
     */
    void zero(long offset, long length, boolean noHole) throws IOException {
        long pos = offset;
        long end = offset + length;
        while (pos < end) {
            long b = pos / BLOCK;
            long n = Math.min(end - pos, (b + 1) * BLOCK - pos);
            boolean whole = n == blockLength(b);
            ReentrantLock lock = lock(b);
            try {
                int alloc = map.alloc(b);
                if (!noHole) {
                    if (alloc == BlockMap.DATA) {
                        preserve(b);
                        markChanged(b);
                        if (whole) {
                            map.setAlloc(b, BlockMap.TRIMMED);
                        } else {
                            zeroFile(pos, n);
                        }
                    }
                    // a hole or trimmed block already reads zeros: nothing changes
                } else {
                    preserve(b);
                    markChanged(b);
                    if (alloc == BlockMap.DATA) {
                        zeroFile(pos, n);
                    } else {
                        // Allocate for real: the whole block is written with zeros.
                        zeroFile(b * BLOCK, blockLength(b));
                        map.setAlloc(b, BlockMap.DATA);
                    }
                }
            } finally {
                lock.unlock();
            }
            pos += n;
        }
    }

    /** Zeroing is metadata only when every touched block is whole or already reads zeros. */
    boolean canZeroFast(long offset, long length, boolean noHole) {
        if (noHole) {
            return false;
        }
        long end = offset + length;
        for (long pos = offset; pos < end;) {
            long b = pos / BLOCK;
            long n = Math.min(end - pos, (b + 1) * BLOCK - pos);
            if (n < blockLength(b) && map.alloc(b) == BlockMap.DATA) {
                return false;
            }
            pos += n;
        }
        return true;
    }

    List<Extent> blockStatus(long offset, long length) {
        List<Extent> out = new ArrayList<>();
        long end = Math.min(offset + length, size);
        long pos = offset;
        while (pos < end && out.size() < MAX_EXTENTS) {
            boolean written = map.alloc(pos / BLOCK) == BlockMap.DATA;
            long runEnd = (pos / BLOCK + 1) * BLOCK;
            while (runEnd < end && (map.alloc(runEnd / BLOCK) == BlockMap.DATA) == written) {
                runEnd += BLOCK;
            }
            runEnd = Math.min(runEnd, end);
            out.add(new Extent(pos, runEnd - pos, !written, !written));
            pos = runEnd;
        }
        return out;
    }

    /** Everything written so far, and the record of which blocks changed, is on stable storage. */
    void flush() throws IOException {
        data.force(false);
        map.force();
        fold();
    }

    /** Records the pending changed blocks in Derby, under the current generation. */
    void fold() throws IOException {
        synchronized (foldLock) {
            List<Long> drained = new ArrayList<>();
            for (Long b; (b = pending.poll()) != null;) {
                drained.add(b);
            }
            if (drained.isEmpty()) {
                return;
            }
            long[] blocks = drained.stream().mapToLong(Long::longValue).sorted().toArray();
            try {
                store.recordChanged(id, blocks, generation);
            } catch (RuntimeException e) {
                pending.addAll(drained);
                throw new IOException("cannot record changed blocks: " + e.getMessage(), e);
            }
            for (long b : blocks) {
                ReentrantLock lock = lock(b);
                try {
                    if (map.tracking(b) == BlockMap.PENDING) {
                        map.setTracking(b, BlockMap.RECORDED);
                    }
                } finally {
                    lock.unlock();
                }
            }
        }
    }

    /**
     * Closes the current tracking generation and starts the next; returns the closed one.
     * Caller holds io's write lock.
     */
    long cutGeneration() throws IOException {
        synchronized (foldLock) {
            data.force(false);
            fold();
            // Clean the map before the new generation is stored: should we crash in between,
            // the old generation simply continues, and nothing is lost.
            map.clearTracking();
            map.force();
            long closed = generation;
            store.setGeneration(id, closed + 1);
            generation = closed + 1;
            return closed;
        }
    }

    /** Grows online. Caller holds io's write lock. */
    void grow(long newSize) throws IOException {
        raf.setLength(newSize);
        data.force(true);
        map.grow(blocksFor(newSize));
        map.force();
        size = newSize;
    }

    /** Opens a point-in-time view. Caller holds io's write lock (no write in flight). */
    ViewImpl openView() throws IOException {
        long closed = cutGeneration();
        Path side = dir.resolve(id + ".view-" + viewCounter.incrementAndGet());
        ViewImpl view = new ViewImpl(this, side, size, closed);
        views.add(view);
        return view;
    }

    void removeView(ViewImpl view) {
        views.remove(view);
    }

    @Override
    public void close() throws IOException {
        boolean drained = awaitSends();
        try {
            flush();
        } finally {
            // unmapped at once only when no region is still on its way out: one still being
            // sent would read unmapped memory
            mapping.close(drained);
            for (ViewImpl v : views) {
                v.discard();
            }
            views.clear();
            map.close();
            raf.close();
        }
    }

    /**
     * Lets regions already on their way out finish, for a bounded time: a client that stopped
     * reading its socket cannot hold a restart up. One still sending after that fails when the
     * file closes under it, and its connection ends. True when none is left.
     */
    private boolean awaitSends() {
        long deadline = System.nanoTime() + SEND_DRAIN_NANOS;
        synchronized (sends) {
            long left;
            while (sends[0] > 0 && (left = deadline - System.nanoTime()) > 0) {
                try {
                    sends.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return sends[0] == 0;
        }
    }

    // ---- helpers shared with views

    ReentrantLock lock(long block) {
        ReentrantLock l = stripes[(int) (block % STRIPES)];
        l.lock();
        return l;
    }

    int alloc(long block) {
        return map.alloc(block);
    }

    FileChannel data() {
        return data;
    }

    long blockLength(long block) {
        return Math.min(BLOCK, size - block * BLOCK);
    }

    private boolean steady(long first, long last) {
        for (long b = first; b <= last; b++) {
            if (!map.isSteady(b)) {
                return false;
            }
        }
        return true;
    }

    private void preserve(long block) throws IOException {
        for (ViewImpl v : views) {
            v.preserve(block);
        }
    }

    /** Before the data changes, so a crash cannot lose the fact that it changed. */
    private void markChanged(long block) {
        if (map.tracking(block) == BlockMap.CLEAN) {
            map.setTracking(block, BlockMap.PENDING);
            pending.add(block);
        }
    }

    private void zeroFile(long pos, long length) throws IOException {
        long p = pos;
        long end = pos + length;
        while (p < end) {
            ByteBuffer z = ZEROS.duplicate();
            z.limit((int) Math.min(BLOCK, end - p));
            int n = z.remaining();
            writeFully(data, z, p);
            p += n;
        }
    }

    static void readFully(FileChannel ch, ByteBuffer dst, long offset) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = ch.read(dst, pos);
            if (n < 0) {
                throw new EOFException("read past the end of the data file at " + pos);
            }
            pos += n;
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer src, long offset) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            pos += ch.write(src, pos);
        }
    }
}
