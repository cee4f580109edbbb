package cairn.nbd.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmission phase of one connection. The connection's thread reads requests through
 * one input buffer (a burst of pipelined requests arrives in one read) and runs the small
 * READs and every plain WRITE itself (over TLS the small ones, or all of them on a machine with
 * no core to spare): a pool handoff would cost more than a cached 4 KiB read, and a write only
 * copies into the page cache, where the kernel runs one write to a file at a time anyway.
 * Their replies collect in a batch that leaves in one write whenever the thread is about to
 * block. Everything that may take long (large READs, FUA writes, FLUSH, TRIM,
 * WRITE_ZEROES, BLOCK_STATUS) goes to a small worker pool, so requests still run in parallel
 * and their replies leave in completion order. Work handed over is bounded by count and by
 * bytes: a client cannot make the server hold more than {@link Limits#maxBytesInFlight()} of
 * its data.
 */
final class Session {

    private static final Logger LOG = LoggerFactory.getLogger(Session.class);
    private static final int KNOWN_FLAGS = Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_DF
            | Nbd.CMD_FLAG_REQ_ONE | Nbd.CMD_FLAG_FAST_ZERO;
    /** Descriptors in one BLOCK_STATUS reply when the client did not ask for just one. */
    private static final int MAX_EXTENTS = 1024;
    /** Bytes read ahead at once when the next request is not complete yet: thousands of headers. */
    private static final int READ_AHEAD = 128 * 1024;
    /** Largest descriptor length: 32 bits, kept a multiple of 512. */
    private static final long MAX_DESCRIPTOR = 0xFFFFFFFFL & ~0x1FFL;

    private final String id;
    private final Wire wire;
    private final Peer peer;
    private final Export export;
    private final boolean structured;
    private final boolean baseAllocation;
    private final Limits limits;
    private final BufferPool pool;
    private final ServerState state;
    private final Replies replies;
    private final ThreadPoolExecutor workers;
    /**
     * One thread for large READs whose data is in the page cache: such a reply waits on
     * nothing but the socket, and only one reply can be written at a time, so more threads
     * add only contention for the reply lock and thread switches (measured on two cores:
     * 1 MiB reads over TCP 1.2-1.5x faster from one thread than from four). Uncached reads
     * and the rest go to {@link #workers}, which wait on the disk in parallel.
     */
    private final ThreadPoolExecutor sender;
    private final Semaphore requestBudget;
    private final Semaphore byteBudget;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Requests as read from the wire, in read mode between reads; room for the largest inline WRITE. */
    private final ByteBuffer in = ByteBuffer.allocateDirect(Limits.MAX_INLINE + 64 * 1024);
    private volatile String closeReason;
    /**
     * How far the next read may run ahead: after a payload too large for the input buffer
     * (a stream of large WRITEs), just the next header, so the next payload lands in its own
     * buffer whole instead of partly here (to be copied over); else {@link #READ_AHEAD}.
     */
    private int readAhead = READ_AHEAD;

    Session(String id, Negotiation.Outcome agreed, Limits limits, BufferPool pool, ServerState state) {
        this.id = id;
        this.wire = agreed.wire();
        this.peer = agreed.peer();
        this.export = agreed.export();
        this.structured = agreed.structured();
        this.baseAllocation = agreed.baseAllocation();
        this.limits = limits;
        this.pool = pool;
        this.state = state;
        this.replies = new Replies(wire, structured, pool);
        this.requestBudget = new Semaphore(limits.maxRequestsInFlight());
        this.byteBudget = new Semaphore(limits.maxBytesInFlight());
        AtomicInteger n = new AtomicInteger();
        this.workers = threads(limits.workers(), () -> "cairn-nbd-" + id + "-w" + n.incrementAndGet());
        this.sender = threads(1, () -> "cairn-nbd-" + id + "-s");
        export.onFenced(this::close);
    }

    /** {@code count} daemon threads named by {@code names}, ended after 30 s without work. */
    private static ThreadPoolExecutor threads(int count, Supplier<String> names) {
        ThreadPoolExecutor pool = new ThreadPoolExecutor(count, count, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, names.get());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
        return pool;
    }

    Export export() {
        return export;
    }

    Peer peer() {
        return peer;
    }

    String id() {
        return id;
    }

    /** Reads and dispatches requests until DISC, end of stream, a framing error or {@link #close}. */
    void run() {
        String why = "client disconnected";
        in.flip();
        try {
            while (true) {
                fill(Nbd.REQUEST_HEADER);
                int at = in.position();
                in.position(at + Nbd.REQUEST_HEADER);
                if (in.getInt(at) != Nbd.REQUEST_MAGIC) {
                    why = "bad request magic: closing (the stream can no longer be framed)";
                    break;
                }
                int flags = Short.toUnsignedInt(in.getShort(at + 4));
                int type = Short.toUnsignedInt(in.getShort(at + 6));
                long handle = in.getLong(at + 8);
                long offset = in.getLong(at + 16);
                long length = Integer.toUnsignedLong(in.getInt(at + 24));
                readAhead = READ_AHEAD;
                if (type == Nbd.CMD_DISC) {
                    why = "client sent NBD_CMD_DISC";
                    break;
                }
                if (!dispatch(type, flags, handle, offset, length)) {
                    why = "oversized WRITE: closing (its payload cannot be skipped safely)";
                    break;
                }
            }
        } catch (EOFException e) {
            why = closeReason != null ? closeReason : "client closed the connection";
        } catch (IOException e) {
            why = closeReason != null ? closeReason : "connection failed: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = "interrupted";
        } finally {
            try {
                // replies of requests already run are owed even when the client sent DISC
                replies.flush();
            } catch (IOException e) {
                why = closeReason != null ? closeReason : "connection failed: " + e.getMessage();
            }
            finish(why);
        }
    }

    /**
     * Makes at least {@code n} bytes (at most the buffer's capacity) readable in {@link #in}.
     * The batched replies leave before each read that may block: the client may be waiting
     * for them before it sends more.
     */
    private void fill(int n) throws IOException {
        if (in.remaining() >= n) {
            return;
        }
        in.compact();
        // read ahead a burst of requests, not a large WRITE's payload: that is read straight
        // into its own buffer, and whatever lands here first must be copied over
        in.limit(Math.min(in.capacity(), Math.max(n, readAhead)));
        try {
            while (in.position() < n) {
                replies.flush();
                if (wire.read(in) < 0) {
                    throw new EOFException("peer closed the connection");
                }
            }
        } finally {
            in.flip();
        }
    }

    /** Moves the next {@code dst.remaining()} bytes of the stream into {@code dst}: the buffered ones, then the wire's. */
    private void readPayload(ByteBuffer dst) throws IOException {
        if (dst.remaining() > READ_AHEAD) {
            readAhead = Nbd.REQUEST_HEADER;
        }
        int buffered = Math.min(in.remaining(), dst.remaining());
        dst.put(dst.position(), in, in.position(), buffered);
        dst.position(dst.position() + buffered);
        in.position(in.position() + buffered);
        if (dst.hasRemaining()) {
            replies.flush();
            wire.readFully(dst);
        }
    }

    /** Drops the next {@code length} bytes of the stream (the payload of a refused WRITE). */
    private void skip(long length) throws IOException {
        while (length > 0) {
            if (!in.hasRemaining()) {
                fill(1);
            }
            int n = (int) Math.min(length, in.remaining());
            in.position(in.position() + n);
            length -= n;
        }
    }

    /** @return false when the connection must end because the stream cannot be followed any more */
    private boolean dispatch(int type, int flags, long handle, long offset, long length)
            throws IOException, InterruptedException {
        if (type == Nbd.CMD_WRITE && length > limits.maxPayload()) {
            replies.batched.error(handle, Nbd.EOVERFLOW, "WRITE of " + length + " bytes exceeds the maximum "
                    + limits.maxPayload());
            return false;
        }
        String invalid = validate(type, flags, offset, length);
        if (invalid != null) {
            if (type == Nbd.CMD_WRITE) {
                skip(length);
            }
            replies.batched.error(handle, errnoFor(type, invalid), invalid);
            return true;
        }
        boolean fua = (flags & Nbd.CMD_FLAG_FUA) != 0;
        if (length <= limits.inlineMax() && (type == Nbd.CMD_READ || type == Nbd.CMD_WRITE && !fua)) {
            // short and, with the data in the page cache, quicker than a handoff: run it here
            if (!export.ready()) {
                // it may wait for the engine: the replies already made must not wait with it
                replies.flush();
            }
            ByteBuffer payload = null;
            if (type == Nbd.CMD_WRITE) {
                fill((int) length);
                payload = in.slice(in.position(), (int) length);
                in.position(in.position() + (int) length);
            }
            execute(new Request(type, flags, handle, offset, length, payload, 0), replies.batched);
            return true;
        }
        if (type == Nbd.CMD_WRITE && !fua && limits.inlineMax() > 0
                && (!wire.encrypted() || !limits.tlsWriteHandoff())) {
            // A large plain WRITE runs here too, from the buffer its payload was just read into
            // (still in this core's cache). The kernel serializes buffered writes to one file
            // anyway (the inode lock), so a worker would add a cache-cold copy, lock spinning
            // against the other workers and a thread switch, and gain no parallelism. Over TLS
            // this thread has the next payload to decrypt: where another core is free, a worker's
            // write overlaps that (Limits.tlsWriteHandoff).
            ByteBuffer payload = pool.acquire((int) length);
            try {
                readPayload(payload);
                payload.flip();
                if (!export.ready()) {
                    replies.flush();
                }
                execute(new Request(type, flags, handle, offset, length, payload, 0), replies.batched);
            } finally {
                pool.release(payload);
            }
            return true;
        }
        int bytes = type == Nbd.CMD_WRITE || type == Nbd.CMD_READ ? (int) length : 0;
        if (!requestBudget.tryAcquire()) {
            replies.flush();
            requestBudget.acquire();
        }
        if (!byteBudget.tryAcquire(bytes)) {
            replies.flush();
            byteBudget.acquire(bytes);
        }
        ByteBuffer payload = null;
        boolean handedOver = false;
        try {
            if (type == Nbd.CMD_WRITE) {
                payload = pool.acquire((int) length);
                readPayload(payload);
                payload.flip();
            }
            Request r = new Request(type, flags, handle, offset, length, payload, bytes);
            (type == Nbd.CMD_READ && cached(offset, (int) length) ? sender : workers).execute(() -> {
                try {
                    execute(r, replies.direct);
                } finally {
                    pool.release(r.payload);
                    byteBudget.release(r.bytes);
                    requestBudget.release();
                }
            });
            handedOver = true;
            return true;
        } catch (RejectedExecutionException e) {
            if (!state.stopping()) {
                replies.batched.error(handle, Nbd.ESHUTDOWN, "connection is closing");
            }
            // a stopping server leaves it unanswered: see execute
            return true;
        } finally {
            if (!handedOver) {
                pool.release(payload);
                byteBudget.release(bytes);
                requestBudget.release();
            }
        }
    }

    /**
     * Whether the range is in the page cache now; false when that cannot be told without
     * waiting. The sender asks again when it sends (a mincore call of a few microseconds per
     * MiB): the region is not held across the queue, where it would hold up closing the volume.
     */
    private boolean cached(long offset, int length) {
        if (!export.ready()) {
            return false;
        }
        try (Export.Region region = export.mapped(offset, length)) {
            return region != null;
        } catch (IOException | RuntimeException e) {
            return false; // the worker meets the same problem and answers it
        }
    }

    private static final String BEYOND_END = "request extends beyond the end of the export";

    /** The request's problem as a sentence, or null when it may run. */
    private String validate(int type, int flags, long offset, long length) {
        if ((flags & ~KNOWN_FLAGS) != 0) {
            return "unknown command flags 0x" + Integer.toHexString(flags);
        }
        int allowed = Nbd.CMD_FLAG_FUA;
        switch (type) {
        case Nbd.CMD_READ:
            allowed |= structured ? Nbd.CMD_FLAG_DF : 0;
            break;
        case Nbd.CMD_WRITE:
        case Nbd.CMD_TRIM:
        case Nbd.CMD_FLUSH:
            break;
        case Nbd.CMD_WRITE_ZEROES:
            allowed |= Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO;
            break;
        case Nbd.CMD_BLOCK_STATUS:
            allowed |= Nbd.CMD_FLAG_REQ_ONE;
            break;
        default:
            return "unknown command " + type;
        }
        if ((flags & ~allowed) != 0) {
            return "flags 0x" + Integer.toHexString(flags) + " do not apply to command " + type;
        }
        if (type == Nbd.CMD_FLUSH) {
            return offset == 0 && length == 0 ? null : "FLUSH must have offset and length zero";
        }
        if (type == Nbd.CMD_READ && length > limits.maxPayload()) {
            return "READ of " + length + " bytes exceeds the maximum " + limits.maxPayload();
        }
        if (type == Nbd.CMD_BLOCK_STATUS) {
            if (!baseAllocation) {
                return "BLOCK_STATUS needs the base:allocation metadata context";
            }
            if (length == 0) {
                return "BLOCK_STATUS of zero bytes";
            }
        }
        long size = export.size();
        if (offset < 0 || offset > size || length > size - offset) {
            return BEYOND_END;
        }
        if (export.readOnly() && type != Nbd.CMD_READ && type != Nbd.CMD_BLOCK_STATUS) {
            return "export is read-only";
        }
        return null;
    }

    private int errnoFor(int type, String invalid) {
        if (invalid.equals("export is read-only")) {
            return Nbd.EPERM;
        }
        if (invalid == BEYOND_END && (type == Nbd.CMD_WRITE || type == Nbd.CMD_WRITE_ZEROES)) {
            return Nbd.ENOSPC;
        }
        if (invalid.startsWith("READ of")) {
            return Nbd.EOVERFLOW;
        }
        return Nbd.EINVAL;
    }

    /** Runs one request and replies through {@code out}; on the connection's thread or a worker. */
    private void execute(Request r, Replies.Out out) {
        try {
            // A request read before an orderly stop began is still served and answered (the
            // protocol asks a stopping server to finish what is in flight): no error reaches a
            // client while cairn.nbd itself is replaced. Only one held for an engine that is
            // away is left unanswered (below); a reconnecting client sends it again.
            boolean fua = (r.flags & Nbd.CMD_FLAG_FUA) != 0;
            switch (r.type) {
            case Nbd.CMD_READ:
                out.read(r.handle, r.offset, (int) r.length, new Replies.Filler() {
                    @Override
                    public void fill(int skip, ByteBuffer dst) throws IOException {
                        export.read(r.offset + skip, dst);
                    }

                    @Override
                    public Export.Region region() throws IOException {
                        return export.region(r.offset, (int) r.length);
                    }

                    @Override
                    public Export.Region mapped() throws IOException {
                        return export.mapped(r.offset, (int) r.length);
                    }
                });
                break;
            case Nbd.CMD_WRITE:
                export.write(r.offset, r.payload, fua);
                out.ok(r.handle);
                break;
            case Nbd.CMD_FLUSH:
                export.flush();
                out.ok(r.handle);
                break;
            case Nbd.CMD_TRIM:
                export.trim(r.offset, r.length, fua);
                out.ok(r.handle);
                break;
            case Nbd.CMD_WRITE_ZEROES:
                if ((r.flags & Nbd.CMD_FLAG_FAST_ZERO) != 0
                        && !export.canZeroFast(r.offset, r.length, (r.flags & Nbd.CMD_FLAG_NO_HOLE) == 0)) {
                    out.error(r.handle, Nbd.ENOTSUP, "zeroing is not fast on this export");
                    break;
                }
                export.writeZeroes(r.offset, r.length, (r.flags & Nbd.CMD_FLAG_NO_HOLE) == 0, fua);
                out.ok(r.handle);
                break;
            case Nbd.CMD_BLOCK_STATUS:
                blockStatus(r);
                break;
            default:
                out.error(r.handle, Nbd.EINVAL, "unknown command " + r.type);
            }
        } catch (ExportFencedException e) {
            replyQuietly(out, r.handle, e.errno(), e.getMessage());
            close("attachment fenced: " + e.getMessage());
        } catch (NbdError e) {
            if (e.errno() == Nbd.ESHUTDOWN && state.stopping()) {
                // held for the engine when the server began to stop: unanswered, as above
                return;
            }
            replyQuietly(out, r.handle, e.errno(), e.getMessage());
        } catch (Replies.CutShortException e) {
            if (!closed.get()) {
                LOG.warn("NBD {} request {} at {}: {}; closing the connection", id, r.type, r.offset, e.getMessage());
            }
            close(e.getMessage());
        } catch (IOException e) {
            if (!closed.get()) {
                LOG.warn("NBD {} request {} at {} failed: {}", id, r.type, r.offset, e.toString());
            }
            replyQuietly(out, r.handle, Nbd.EIO, "I/O error");
        } catch (RuntimeException e) {
            LOG.error("NBD {} request {} at {} failed", id, r.type, r.offset, e);
            replyQuietly(out, r.handle, Nbd.EIO, "internal error");
        }
    }

    private void blockStatus(Request r) throws IOException {
        int max = (r.flags & Nbd.CMD_FLAG_REQ_ONE) != 0 ? 1 : MAX_EXTENTS;
        long[] lengths = new long[max];
        int[] flags = new int[max];
        int[] count = { 0 };
        long[] total = { 0 };
        export.blockStatus(r.offset, r.length, max, (length, state) -> {
            // descriptors are 32-bit and must stay inside the request; merge equal neighbours
            long room = r.length - total[0];
            long l = Math.min(Math.min(length, room), MAX_DESCRIPTOR);
            if (l <= 0) {
                return;
            }
            if (count[0] > 0 && flags[count[0] - 1] == state && lengths[count[0] - 1] + l <= MAX_DESCRIPTOR) {
                lengths[count[0] - 1] += l;
            } else if (count[0] < max) {
                lengths[count[0]] = l;
                flags[count[0]] = state;
                count[0]++;
            } else {
                return;
            }
            total[0] += l;
        });
        if (count[0] == 0) {
            // the spec lets a server say "allocated, contents unknown" for any range
            lengths[0] = r.length;
            flags[0] = 0;
            count[0] = 1;
        }
        replies.blockStatus(r.handle, Nbd.BASE_ALLOCATION_ID, lengths, flags, count[0]);
    }

    private void replyQuietly(Replies.Out out, long handle, int errno, String message) {
        try {
            out.error(handle, errno, message);
        } catch (IOException e) {
            close("reply failed: " + e.getMessage());
        }
    }

    /**
     * Orderly stop: no more requests are read; those already read are served and answered,
     * except one held for an absent engine, left for the client to send again after it reconnects.
     */
    void shutdown() {
        closeReason = "server is stopping";
        wire.shutdownInput();
    }

    /** Ends the connection now (fencing, broken wire). */
    void close(String reason) {
        closeReason = reason;
        if (closed.compareAndSet(false, true)) {
            wire.close();
        }
    }

    boolean awaitWorkers(long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        return sender.awaitTermination(millis, TimeUnit.MILLISECONDS)
                && workers.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private void finish(String why) {
        sender.shutdown();
        workers.shutdown();
        try {
            // requests already read are answered before the connection closes
            if (!awaitWorkers(TimeUnit.MINUTES.toMillis(5))) {
                LOG.warn("NBD {}: requests still running at close", id);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closeReason = closeReason == null ? why : closeReason;
        if (closed.compareAndSet(false, true)) {
            wire.finish();
        }
        export.close();
        LOG.info("NBD {} ({} export {}) closed: {}", id, peer.address(), export.name(), why);
    }

    private record Request(int type, int flags, long handle, long offset, long length, ByteBuffer payload,
            int bytes) {
    }
}
