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

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transmission phase of one connection. The connection's thread reads requests
 * (and WRITE payloads into pooled direct buffers) and hands them to a small worker
 * pool, so several requests are in flight and their replies leave in completion order.
 * In-flight work is bounded by count and by bytes: a client cannot make the server
 * hold more than {@link Limits#maxBytesInFlight()} of its data.
 */
final class Session {

    private static final Logger LOG = LoggerFactory.getLogger(Session.class);
    private static final int KNOWN_FLAGS = Nbd.CMD_FLAG_FUA | Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_DF
            | Nbd.CMD_FLAG_REQ_ONE | Nbd.CMD_FLAG_FAST_ZERO;
    /** Descriptors in one BLOCK_STATUS reply when the client did not ask for just one. */
    private static final int MAX_EXTENTS = 1024;
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
    private final Semaphore requestBudget;
    private final Semaphore byteBudget;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile String closeReason;

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
        this.replies = new Replies(wire, structured);
        this.requestBudget = new Semaphore(limits.maxRequestsInFlight());
        this.byteBudget = new Semaphore(limits.maxBytesInFlight());
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(limits.workers(), limits.workers(), 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "cairn-nbd-" + id + "-w" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.workers.allowCoreThreadTimeOut(true);
        export.onFenced(this::close);
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
        ByteBuffer header = ByteBuffer.allocateDirect(Nbd.REQUEST_HEADER);
        String why = "client disconnected";
        try {
            while (true) {
                header.clear();
                wire.readFully(header);
                header.flip();
                if (header.getInt() != Nbd.REQUEST_MAGIC) {
                    why = "bad request magic: closing (the stream can no longer be framed)";
                    break;
                }
                int flags = Short.toUnsignedInt(header.getShort());
                int type = Short.toUnsignedInt(header.getShort());
                long handle = header.getLong();
                long offset = header.getLong();
                long length = Integer.toUnsignedLong(header.getInt());
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
            finish(why);
        }
    }

    /** @return false when the connection must end because the stream cannot be followed any more */
    private boolean dispatch(int type, int flags, long handle, long offset, long length)
            throws IOException, InterruptedException {
        ByteBuffer payload = null;
        if (type == Nbd.CMD_WRITE) {
            if (length > limits.maxPayload()) {
                replies.error(handle, Nbd.EOVERFLOW, "WRITE of " + length + " bytes exceeds the maximum "
                        + limits.maxPayload());
                return false;
            }
        }
        int bytes = type == Nbd.CMD_WRITE || type == Nbd.CMD_READ ? (int) Math.min(length, limits.maxPayload()) : 0;
        requestBudget.acquire();
        byteBudget.acquire(bytes);
        boolean handedOver = false;
        try {
            if (type == Nbd.CMD_WRITE) {
                payload = pool.acquire((int) length);
                wire.readFully(payload);
                payload.flip();
            }
            String invalid = validate(type, flags, offset, length);
            if (invalid != null) {
                replies.error(handle, errnoFor(type, invalid), invalid);
                return true;
            }
            Request r = new Request(type, flags, handle, offset, length, payload, bytes);
            workers.execute(() -> execute(r));
            handedOver = true;
            return true;
        } catch (RejectedExecutionException e) {
            if (!state.stopping()) {
                replies.error(handle, Nbd.ESHUTDOWN, "connection is closing");
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

    private void execute(Request r) {
        ByteBuffer data = r.payload;
        try {
            if (state.stopping()) {
                // Not started: left unanswered. The connection closes next; a client that
                // reconnects (qemu's reconnect-delay) sends it again to the server that comes
                // back, as when cairn.nbd itself is upgraded, where an ESHUTDOWN reply would
                // be an I/O error at that client. Nothing was done, so resending is safe.
                return;
            }
            boolean fua = (r.flags & Nbd.CMD_FLAG_FUA) != 0;
            switch (r.type) {
            case Nbd.CMD_READ:
                data = pool.acquire((int) r.length);
                export.read(r.offset, data);
                data.flip();
                replies.data(r.handle, r.offset, data);
                break;
            case Nbd.CMD_WRITE:
                export.write(r.offset, data, fua);
                replies.ok(r.handle);
                break;
            case Nbd.CMD_FLUSH:
                export.flush();
                replies.ok(r.handle);
                break;
            case Nbd.CMD_TRIM:
                export.trim(r.offset, r.length, fua);
                replies.ok(r.handle);
                break;
            case Nbd.CMD_WRITE_ZEROES:
                if ((r.flags & Nbd.CMD_FLAG_FAST_ZERO) != 0
                        && !export.canZeroFast(r.offset, r.length, (r.flags & Nbd.CMD_FLAG_NO_HOLE) == 0)) {
                    replies.error(r.handle, Nbd.ENOTSUP, "zeroing is not fast on this export");
                    break;
                }
                export.writeZeroes(r.offset, r.length, (r.flags & Nbd.CMD_FLAG_NO_HOLE) == 0, fua);
                replies.ok(r.handle);
                break;
            case Nbd.CMD_BLOCK_STATUS:
                blockStatus(r);
                break;
            default:
                replies.error(r.handle, Nbd.EINVAL, "unknown command " + r.type);
            }
        } catch (ExportFencedException e) {
            replyQuietly(r.handle, e.errno(), e.getMessage());
            close("attachment fenced: " + e.getMessage());
        } catch (NbdError e) {
            if (e.errno() == Nbd.ESHUTDOWN && state.stopping()) {
                // held for the engine when the server began to stop: unanswered, as above
                return;
            }
            replyQuietly(r.handle, e.errno(), e.getMessage());
        } catch (IOException e) {
            if (!closed.get()) {
                LOG.warn("NBD {} request {} at {} failed: {}", id, r.type, r.offset, e.toString());
            }
            replyQuietly(r.handle, Nbd.EIO, "I/O error");
        } catch (RuntimeException e) {
            LOG.error("NBD {} request {} at {} failed", id, r.type, r.offset, e);
            replyQuietly(r.handle, Nbd.EIO, "internal error");
        } finally {
            pool.release(data);
            if (data != r.payload) {
                pool.release(r.payload);
            }
            byteBudget.release(r.bytes);
            requestBudget.release();
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

    private void replyQuietly(long handle, int errno, String message) {
        try {
            replies.error(handle, errno, message);
        } catch (IOException e) {
            close("reply failed: " + e.getMessage());
        }
    }

    /**
     * Orderly stop: no more requests are read; those being served are answered, those not
     * started (or held for the engine) are left for the client to send again after it reconnects.
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
        return workers.awaitTermination(millis, TimeUnit.MILLISECONDS);
    }

    private void finish(String why) {
        workers.shutdown();
        try {
            // requests already read are answered before the connection closes
            if (!workers.awaitTermination(5, TimeUnit.MINUTES)) {
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
