package cairn.blockstore.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.blockstore.api.Extent;
import cairn.blockstore.api.VolumeChannel;
import cairn.blockstore.api.VolumeMirror;
import cairn.blockstore.api.VolumeService;

/**
 * A channel bound to one attachment. Every request runs under the volume's io read lock
 * and first checks that the channel is still usable, so once fencing (which takes the
 * write lock) returns, no request of the old epoch is in flight and none can start.
 */
final class ChannelImpl implements VolumeChannel {

    private static final Logger LOG = LoggerFactory.getLogger(ChannelImpl.class);

    private final VolumeServiceImpl engine;
    private final VolumeFile volume;
    private final LiveAttachment attachment;
    private final List<Consumer<IOException>> listeners = new ArrayList<>();
    private volatile IOException closedBy;
    private boolean endedByEngine; // guarded by listeners

    ChannelImpl(VolumeServiceImpl engine, VolumeFile volume, LiveAttachment attachment) {
        this.engine = engine;
        this.volume = volume;
        this.attachment = attachment;
    }

    @Override
    public String volumeId() {
        return attachment.row.volumeId();
    }

    @Override
    public String attachmentId() {
        return attachment.row.id();
    }

    @Override
    public long epoch() {
        return attachment.row.epoch();
    }

    @Override
    public String exportName() {
        return attachment.row.exportName();
    }

    @Override
    public long size() throws IOException {
        ensureOpen();
        return volume.size();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        checkRequest(offset, dst.remaining());
        volume.io.readLock().lock();
        try {
            ensureOpen();
            int n = dst.remaining();
            checkRange(offset, n);
            volume.read(offset, dst);
            volume.readOps.increment();
            volume.readBytes.add(n);
        } finally {
            volume.io.readLock().unlock();
        }
    }

    @Override
    public Optional<Region> region(long offset, int length) throws IOException {
        return pinned(offset, length,
                () -> volume.sendable(offset, length) ? new FileRegion(volume, offset, length) : null);
    }

    @Override
    public Optional<Region> mapped(long offset, int length) throws IOException {
        return pinned(offset, length, () -> {
            ByteBuffer bytes = volume.mapped(offset, length);
            return bytes == null ? null : new MappedRegion(volume, bytes);
        });
    }

    /** Makes a region of the volume, or null when the range must be read with {@link #read}. */
    @FunctionalInterface
    private interface RegionMaker {
        Region make() throws IOException;
    }

    /**
     * A region checked and counted like a read and pinned until it is closed. It is sent
     * without the io lock: a client that stops reading must not hold up a fence, and closing
     * the volume waits (a bounded time) for pinned regions before it unmaps or closes the file.
     */
    private Optional<Region> pinned(long offset, int length, RegionMaker maker) throws IOException {
        checkRequest(offset, length);
        volume.io.readLock().lock();
        try {
            ensureOpen();
            checkRange(offset, length);
            Region region = length == 0 ? null : maker.make();
            if (region == null) {
                return Optional.empty();
            }
            volume.pin();
            volume.readOps.increment();
            volume.readBytes.add(length);
            return Optional.of(region);
        } finally {
            volume.io.readLock().unlock();
        }
    }

    /** A pinned range of the mapped data file; see {@link VolumeFile#mapped}. */
    private static final class MappedRegion implements Region {

        private final VolumeFile volume;
        private final ByteBuffer bytes;
        private final AtomicBoolean released = new AtomicBoolean();

        MappedRegion(VolumeFile volume, ByteBuffer bytes) {
            this.volume = volume;
            this.bytes = bytes;
        }

        @Override
        public int length() {
            return bytes.remaining();
        }

        @Override
        public Optional<ByteBuffer> memory() {
            if (released.get()) {
                throw new IllegalStateException("region already closed");
            }
            return Optional.of(bytes.duplicate());
        }

        @Override
        public void sendTo(WritableByteChannel target) throws IOException {
            ByteBuffer b = memory().orElseThrow();
            while (b.hasRemaining()) {
                if (target.write(b) <= 0) {
                    throw new IOException("sent " + b.position() + " of " + b.limit() + " bytes: the channel took no more");
                }
            }
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                volume.unpin();
            }
        }
    }

    /** A pinned range of the data file; see {@link VolumeFile#pin}. */
    private static final class FileRegion implements Region {

        private final VolumeFile volume;
        private final long offset;
        private final int length;
        private final AtomicBoolean released = new AtomicBoolean();

        FileRegion(VolumeFile volume, long offset, int length) {
            this.volume = volume;
            this.offset = offset;
            this.length = length;
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public void sendTo(WritableByteChannel target) throws IOException {
            if (released.get()) {
                throw new IllegalStateException("region already closed");
            }
            volume.sendTo(offset, length, target);
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                volume.unpin();
            }
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        checkRequest(offset, src.remaining());
        ByteBuffer forMirror = src.duplicate();
        volume.io.readLock().lock();
        try {
            ensureOpen();
            int n = src.remaining();
            checkRange(offset, n);
            volume.write(offset, src);
            if (fua) {
                volume.flush();
            }
            volume.writeOps.increment();
            volume.writeBytes.add(n);
            for (VolumeMirror m : engine.mirrors(volumeId())) {
                m.write(epoch(), offset, forMirror.duplicate(), fua);
            }
        } finally {
            volume.io.readLock().unlock();
        }
    }

    @Override
    public void flush() throws IOException {
        volume.io.readLock().lock();
        try {
            ensureOpen();
            volume.flush();
            volume.flushOps.increment();
            for (VolumeMirror m : engine.mirrors(volumeId())) {
                m.flush(epoch());
            }
        } finally {
            volume.io.readLock().unlock();
        }
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        zero(offset, length, false, false);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean noHole, boolean fua) throws IOException {
        zero(offset, length, noHole, fua);
    }

    private void zero(long offset, long length, boolean noHole, boolean fua) throws IOException {
        checkRequest(offset, 0);
        if (length < 0) {
            throw new IllegalArgumentException("length " + length + " is negative");
        }
        volume.io.readLock().lock();
        try {
            ensureOpen();
            checkRange(offset, length);
            volume.zero(offset, length, noHole);
            if (fua) {
                volume.flush();
            }
            volume.zeroOps.increment();
            for (VolumeMirror m : engine.mirrors(volumeId())) {
                m.writeZeroes(epoch(), offset, length, fua);
            }
        } finally {
            volume.io.readLock().unlock();
        }
    }

    @Override
    public boolean canZeroFast(long offset, long length, boolean noHole) throws IOException {
        volume.io.readLock().lock();
        try {
            ensureOpen();
            checkRange(offset, length);
            return volume.canZeroFast(offset, length, noHole);
        } finally {
            volume.io.readLock().unlock();
        }
    }

    @Override
    public List<Extent> blockStatus(long offset, long length) throws IOException {
        volume.io.readLock().lock();
        try {
            ensureOpen();
            if (length <= 0) {
                throw new IllegalArgumentException("length " + length + " must be positive");
            }
            checkRange(offset, length);
            return volume.blockStatus(offset, length);
        } finally {
            volume.io.readLock().unlock();
        }
    }

    @Override
    public boolean isOpen() {
        return closedBy == null;
    }

    @Override
    public void onClose(Consumer<IOException> listener) {
        IOException now;
        synchronized (listeners) {
            if (!endedByEngine) {
                listeners.add(listener);
                return;
            }
            now = closedBy;
        }
        notify(listener, now);
    }

    @Override
    public void close() {
        if (closedBy == null) {
            closedBy = new IOException("the channel is closed");
            engine.channelClosed(this, attachment);
        }
    }

    /** The engine ends the channel (fencing or stopping); called under the io write lock. */
    void end(IOException reason) {
        List<Consumer<IOException>> toCall;
        synchronized (listeners) {
            if (endedByEngine) {
                return;
            }
            endedByEngine = true;
            if (closedBy == null) {
                closedBy = reason;
            }
            toCall = List.copyOf(listeners);
            listeners.clear();
        }
        for (Consumer<IOException> l : toCall) {
            notify(l, reason);
        }
    }

    private static void notify(Consumer<IOException> l, IOException reason) {
        try {
            l.accept(reason);
        } catch (RuntimeException e) {
            LOG.warn("a channel close listener failed", e);
        }
    }

    private void ensureOpen() throws IOException {
        IOException e = closedBy;
        if (e != null) {
            throw e;
        }
    }

    private static void checkRequest(long offset, int length) {
        if (offset < 0) {
            throw new IllegalArgumentException("offset " + offset + " is negative");
        }
        if (length > VolumeService.MAX_REQUEST_BYTES) {
            throw new IllegalArgumentException(
                    "length " + length + " exceeds the maximum request of " + VolumeService.MAX_REQUEST_BYTES + " bytes");
        }
    }

    private void checkRange(long offset, long length) {
        long size = volume.size();
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new IllegalArgumentException("range " + offset + "+" + length + " is beyond the end of the volume ("
                    + size + " bytes)");
        }
    }
}
