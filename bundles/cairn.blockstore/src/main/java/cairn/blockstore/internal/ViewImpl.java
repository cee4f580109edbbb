package cairn.blockstore.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import cairn.blockstore.api.Extent;
import cairn.blockstore.api.VolumeView;

/**
 * A point-in-time view by copy-on-write: before a block is first changed after the view
 * opened, the volume copies the old block into the view's sparse side file
 * ({@code <id>.view-<n>}). Reading a block takes its stripe lock, so a read never races the
 * copy. The side file is scratch space: it is deleted on close and on the next start.
 */
final class ViewImpl implements VolumeView {

    private static final byte CURRENT = 0;
    private static final byte COPIED = 1;
    private static final byte ZERO = 2;

    private final VolumeFile volume;
    private final Path sidePath;
    private final FileChannel side;
    private final long size;
    private final long generation;
    private final byte[] state;
    private volatile boolean closed;

    ViewImpl(VolumeFile volume, Path sidePath, long size, long generation) throws IOException {
        this.volume = volume;
        this.sidePath = sidePath;
        this.size = size;
        this.generation = generation;
        this.state = new byte[(int) VolumeFile.blocksFor(size)];
        this.side = FileChannel.open(sidePath, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
    }

    /** Called by the volume under the block's stripe lock, before the block changes. */
    void preserve(long block) throws IOException {
        if (closed || block >= state.length || state[(int) block] != CURRENT) {
            return;
        }
        if (volume.alloc(block) == BlockMap.DATA) {
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(VolumeFile.BLOCK, size - block * VolumeFile.BLOCK));
            VolumeFile.readFully(volume.data(), buf, block * VolumeFile.BLOCK);
            buf.flip();
            VolumeFile.writeFully(side, buf, block * VolumeFile.BLOCK);
            state[(int) block] = COPIED;
        } else {
            state[(int) block] = ZERO;
        }
    }

    @Override
    public String volumeId() {
        return volume.id;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public long generation() {
        return generation;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        check(offset, dst.remaining());
        volume.io.readLock().lock();
        try {
            ensureOpen();
            long pos = offset;
            while (dst.hasRemaining()) {
                long b = pos / VolumeFile.BLOCK;
                int n = (int) Math.min(dst.remaining(), (b + 1) * VolumeFile.BLOCK - pos);
                ByteBuffer part = dst.slice(dst.position(), n);
                ReentrantLock lock = volume.lock(b);
                try {
                    byte s = state[(int) b];
                    if (s == COPIED) {
                        VolumeFile.readFully(side, part, pos);
                    } else if (s == ZERO || volume.alloc(b) == BlockMap.TRIMMED) {
                        while (part.hasRemaining()) {
                            part.put((byte) 0);
                        }
                    } else {
                        VolumeFile.readFully(volume.data(), part, pos);
                    }
                } finally {
                    lock.unlock();
                }
                dst.position(dst.position() + n);
                pos += n;
            }
        } finally {
            volume.io.readLock().unlock();
        }
    }

    @Override
    public List<Extent> blockStatus(long offset, long length) throws IOException {
        check(offset, 0);
        long end = Math.min(offset + length, size);
        List<Extent> out = new ArrayList<>();
        volume.io.readLock().lock();
        try {
            ensureOpen();
            long pos = offset;
            while (pos < end) {
                boolean written = written(pos / VolumeFile.BLOCK);
                long runEnd = (pos / VolumeFile.BLOCK + 1) * VolumeFile.BLOCK;
                while (runEnd < end && written(runEnd / VolumeFile.BLOCK) == written) {
                    runEnd += VolumeFile.BLOCK;
                }
                runEnd = Math.min(runEnd, end);
                out.add(new Extent(pos, runEnd - pos, !written, !written));
                pos = runEnd;
            }
        } finally {
            volume.io.readLock().unlock();
        }
        return out;
    }

    private boolean written(long block) {
        ReentrantLock lock = volume.lock(block);
        try {
            byte s = state[(int) block];
            return s == COPIED || (s == CURRENT && volume.alloc(block) == BlockMap.DATA);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        volume.io.writeLock().lock();
        try {
            volume.removeView(this);
            discard();
        } finally {
            volume.io.writeLock().unlock();
        }
    }

    /** Drops the side file; the volume calls this when it closes. */
    void discard() {
        closed = true;
        try {
            side.close();
            Files.deleteIfExists(sidePath);
        } catch (IOException e) {
            // scratch space; it is removed again on the next start
        }
    }

    private void check(long offset, long length) {
        if (offset < 0 || length < 0 || offset + length > size) {
            throw new IllegalArgumentException("range " + offset + "+" + length + " is outside the view (size " + size + ")");
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("the view of " + volume.id + " is closed");
        }
    }
}
