package cairn.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/** A plain file as an export: the protocol layer's tests run against real positional file I/O. */
final class FileExport implements Export {

    private final String name;
    private final FileChannel file;
    private final long size;
    private final AtomicInteger open;
    volatile Consumer<String> fenced;
    /** Regions sent whole. */
    final AtomicInteger regionsSent = new AtomicInteger();
    /** Names of the threads that ran writes larger than the default inline bound. */
    final Set<String> largeWriters = ConcurrentHashMap.newKeySet();
    /** Replies written from mapped memory (regions whose memory was taken). */
    final AtomicInteger mappedRegions = new AtomicInteger();
    /** Names of the threads that read more than the default inline bound (from the file or a mapping). */
    final Set<String> largeReaders = ConcurrentHashMap.newKeySet();
    /** Whether reads may come from mapped memory (the engine offers it for data in the page cache). */
    volatile boolean offerMapped = true;
    private java.nio.MappedByteBuffer mapping;
    /** Reads reaching this offset or beyond fail, as on a medium error. */
    volatile long unreadableFrom = Long.MAX_VALUE;
    /** Regions fail half way through. */
    volatile boolean breakRegions;

    private final boolean readOnly;

    FileExport(String name, Path path, AtomicInteger open, boolean readOnly) throws IOException {
        this.name = name;
        this.readOnly = readOnly;
        this.file = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        this.size = file.size();
        this.open = open;
        open.incrementAndGet();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public String attachmentId() {
        return "att-" + name;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    @Override
    public boolean multiConn() {
        return false;
    }

    @Override
    public boolean canZeroFast(long offset, long length, boolean mayPunch) {
        return false;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        if (offset + dst.remaining() > unreadableFrom) {
            throw new IOException("medium error at " + unreadableFrom);
        }
        if (dst.remaining() > Limits.DEFAULT_INLINE) {
            largeReaders.add(Thread.currentThread().getName());
        }
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = file.read(dst, pos);
            if (n < 0) {
                throw new IOException("short file");
            }
            pos += n;
        }
    }

    /** Every read may leave as a region, as the engine's do: the sendfile path is what the tests cover. */
    @Override
    public Region region(long offset, int length) {
        return new Region() {
            @Override
            public void sendTo(WritableByteChannel target) throws IOException {
                long pos = offset;
                long end = offset + length;
                if (breakRegions) {
                    // half of it leaves, then the storage fails
                    end = offset + length / 2;
                }
                while (pos < end) {
                    long n = file.transferTo(pos, end - pos, target);
                    if (n <= 0) {
                        throw new IOException("short transfer");
                    }
                    pos += n;
                }
                if (breakRegions) {
                    throw new IOException("storage failed half way");
                }
                regionsSent.incrementAndGet();
            }

            @Override
            public void close() {
                // nothing pinned
            }
        };
    }

    /** Every read may come from mapped memory, as the engine's may when the data is cached. */
    @Override
    public Region mapped(long offset, int length) throws IOException {
        if (!offerMapped) {
            return null;
        }
        ByteBuffer memory;
        synchronized (this) {
            if (mapping == null) {
                mapping = file.map(FileChannel.MapMode.READ_ONLY, 0, size);
            }
            memory = mapping.slice((int) offset, length);
        }
        return new Region() {
            @Override
            public void sendTo(WritableByteChannel target) throws IOException {
                throw new UnsupportedOperationException("the server writes mapped memory itself");
            }

            @Override
            public ByteBuffer memory() {
                mappedRegions.incrementAndGet();
                if (length > Limits.DEFAULT_INLINE) {
                    largeReaders.add(Thread.currentThread().getName());
                }
                return memory.duplicate();
            }

            @Override
            public void close() {
                // nothing pinned
            }
        };
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        if (src.remaining() > Limits.DEFAULT_INLINE) {
            largeWriters.add(Thread.currentThread().getName());
        }
        long pos = offset;
        while (src.hasRemaining()) {
            pos += file.write(src, pos);
        }
        if (fua) {
            file.force(false);
        }
    }

    @Override
    public void flush() throws IOException {
        file.force(false);
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        writeZeroes(offset, length, true, fua);
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayPunch, boolean fua) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate(64 * 1024);
        long done = 0;
        while (done < length) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), length - done));
            write(offset + done, zeros, false);
            done += zeros.limit();
        }
        if (fua) {
            file.force(false);
        }
    }

    @Override
    public void blockStatus(long offset, long length, int maxExtents, ExtentSink sink) throws IOException {
        // honest and simple: 4 KiB pieces that read as zeros are reported as such
        ByteBuffer block = ByteBuffer.allocate(4096);
        long pos = offset;
        int extents = 0;
        int runFlags = -1;
        long runLength = 0;
        while (pos < offset + length) {
            int n = (int) Math.min(4096 - (pos % 4096), offset + length - pos);
            block.clear().limit(n);
            read(pos, block);
            int flags = isZero(block.array(), n) ? Nbd.STATE_ZERO : 0;
            if (flags != runFlags && runLength > 0) {
                sink.extent(runLength, runFlags);
                if (++extents == maxExtents) {
                    return;
                }
                runLength = 0;
            }
            runFlags = flags;
            runLength += n;
            pos += n;
        }
        sink.extent(runLength, runFlags);
    }

    private static boolean isZero(byte[] b, int n) {
        for (int i = 0; i < n; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void onFenced(Consumer<String> closer) {
        this.fenced = closer;
    }

    @Override
    public void close() {
        open.decrementAndGet();
        try {
            file.close();
        } catch (IOException e) {
            // test fixture
        }
    }
}
