package cairn.blockstore.internal;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One byte of state per 64 KiB block of a volume, in a memory-mapped side file
 * ({@code <id>.blocks}). Writes to the mapping reach the page cache at once, so they
 * survive a crash of the process; {@link #force()} makes them survive a crash of the
 * machine and is called by every FLUSH.
 *
 * <p>Bits 0-1, allocation: {@link #HOLE} never written since creation (the sparse file
 * reads zeros there), {@link #DATA} written, {@link #TRIMMED} trimmed or zeroed (reads as
 * zeros; the file still holds stale bytes, because Java cannot punch holes, so the space
 * is not returned to the file system). Bits 2-3, change tracking in the current
 * generation: {@link #CLEAN}, {@link #PENDING} (changed, not yet in Derby),
 * {@link #RECORDED} (in Derby).
 *
 * <p>Callers serialize changes to one block (the volume's stripe locks).
 */
final class BlockMap implements AutoCloseable {

    static final int HOLE = 0;
    static final int DATA = 1;
    static final int TRIMMED = 2;
    static final int CLEAN = 0;
    static final int PENDING = 1 << 2;
    static final int RECORDED = 2 << 2;
    private static final int ALLOC_MASK = 3;
    private static final int CBT_MASK = 3 << 2;

    private final FileChannel file;
    private volatile MappedByteBuffer map;
    private volatile long blocks;

    BlockMap(Path path, long blocks, boolean create) throws IOException {
        this.file = create
                ? FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        long described = create ? blocks : Math.min(file.size(), blocks);
        remap(blocks);
        // A map shorter than the volume (damaged, or cut short by a crash): the blocks it does
        // not describe are unknown, so they are treated as written and changed.
        for (long b = described; b < blocks; b++) {
            map.put((int) b, (byte) (DATA | PENDING));
        }
    }

    /** Grows the map for a larger volume; new blocks are holes (the grown file reads zeros). */
    synchronized void grow(long newBlocks) throws IOException {
        if (newBlocks > blocks) {
            remap(newBlocks);
        }
    }

    private void remap(long n) throws IOException {
        if (n > Integer.MAX_VALUE) {
            throw new IOException("volume too large for one block map");
        }
        if (file.size() < n) {
            // Extends with zeros: HOLE and CLEAN.
            file.truncate(n);
            file.write(java.nio.ByteBuffer.wrap(new byte[1]), n - 1);
        }
        map = file.map(FileChannel.MapMode.READ_WRITE, 0, n);
        blocks = n;
    }

    long blocks() {
        return blocks;
    }

    int alloc(long block) {
        return map.get((int) block) & ALLOC_MASK;
    }

    int tracking(long block) {
        return map.get((int) block) & CBT_MASK;
    }

    /** Written and already tracked in this generation: a write needs no bookkeeping. */
    boolean isSteady(long block) {
        int b = map.get((int) block);
        return (b & ALLOC_MASK) == DATA && (b & CBT_MASK) != CLEAN;
    }

    void setAlloc(long block, int alloc) {
        MappedByteBuffer m = map;
        m.put((int) block, (byte) ((m.get((int) block) & ~ALLOC_MASK) | alloc));
    }

    void setTracking(long block, int tracking) {
        MappedByteBuffer m = map;
        m.put((int) block, (byte) ((m.get((int) block) & ~CBT_MASK) | tracking));
    }

    /** Starts a new tracking generation: every block clean. Caller has stopped all I/O. */
    void clearTracking() {
        MappedByteBuffer m = map;
        for (int i = 0; i < blocks; i++) {
            int b = m.get(i);
            if ((b & CBT_MASK) != 0) {
                m.put(i, (byte) (b & ALLOC_MASK));
            }
        }
    }

    void force() {
        map.force();
    }

    @Override
    public void close() throws IOException {
        map.force();
        file.close();
    }
}
