package cairn.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import cairn.blockstore.api.AttachmentFencedException;
import cairn.blockstore.api.EngineUnavailableException;
import cairn.blockstore.api.Extent;
import cairn.blockstore.api.VolumeChannel;
import cairn.blockstore.api.VolumeService;

/**
 * An export backed by the engine's {@link VolumeChannel}. While the engine is away it
 * holds each request, waits (bounded) for the service to return, reopens the channel with
 * the same export name or certificate, and sends the request again: a restart or an
 * upgrade of the engine shows up at the client as latency, not as errors.
 */
final class EngineExport implements Export {

    /** One call on a channel. */
    interface Call<T> {
        T on(VolumeChannel channel) throws IOException;
    }

    private final EngineGate<VolumeService> gate;
    private final String name;
    private final X509Certificate certificate;
    private final long waitNanos;
    private final long size;
    private final String attachmentId;
    private volatile VolumeChannel channel;
    private volatile Consumer<String> fenced;
    private volatile boolean closed;

    private EngineExport(EngineGate<VolumeService> gate, String name, X509Certificate certificate, long waitMillis,
            VolumeChannel first) throws IOException {
        this.gate = gate;
        this.name = name;
        this.certificate = certificate;
        this.waitNanos = TimeUnit.MILLISECONDS.toNanos(waitMillis);
        this.channel = first;
        this.size = first.size();
        this.attachmentId = first.attachmentId();
        watch(first);
    }

    /**
     * Opens the export on the current engine, waiting for one up to the bound.
     *
     * @param certificate the verified client certificate, or null in lab mode / on the unix socket
     */
    static EngineExport open(EngineGate<VolumeService> gate, String name, X509Certificate certificate,
            long waitMillis) throws IOException {
        VolumeChannel first = openChannel(gate, name, certificate, System.nanoTime()
                + TimeUnit.MILLISECONDS.toNanos(waitMillis));
        try {
            return new EngineExport(gate, name, certificate, waitMillis, first);
        } catch (IOException | RuntimeException e) {
            first.close();
            throw e;
        }
    }

    private static VolumeChannel openChannel(EngineGate<VolumeService> gate, String name, X509Certificate certificate,
            long deadline) throws IOException {
        boolean backoff = false;
        while (true) {
            VolumeService service;
            try {
                service = gate.await(deadline, backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NbdError(Nbd.ESHUTDOWN, "interrupted while waiting for the storage engine");
            }
            if (service == null) {
                throw new EngineUnavailableException("the storage engine did not come back in time");
            }
            try {
                return certificate == null ? service.open(name) : service.open(name, certificate);
            } catch (EngineUnavailableException e) {
                backoff = true;
            }
        }
    }

    private void watch(VolumeChannel c) {
        c.onClose(e -> {
            if (e instanceof AttachmentFencedException) {
                Consumer<String> f = fenced;
                if (f != null) {
                    f.accept("attachment fenced: " + e.getMessage());
                }
            }
            // engine going away: the next request reopens on the returning service
        });
    }

    /** Runs a call, reopening the channel across an engine restart, within the wait bound. */
    private <T> T call(Call<T> call) throws IOException {
        long deadline = 0;
        while (true) {
            VolumeChannel c = channel;
            try {
                if (c == null) {
                    throw new EngineUnavailableException("no channel");
                }
                return call.on(c);
            } catch (EngineUnavailableException e) {
                if (closed) {
                    throw new NbdError(Nbd.ESHUTDOWN, "connection is closing");
                }
                if (deadline == 0) {
                    deadline = System.nanoTime() + waitNanos;
                }
                reopen(c, deadline);
            } catch (AttachmentFencedException e) {
                throw new ExportFencedException(e.getMessage());
            } catch (IllegalArgumentException e) {
                throw new NbdError(Nbd.EINVAL, e.getMessage());
            }
        }
    }

    private synchronized void reopen(VolumeChannel failed, long deadline) throws IOException {
        if (channel != failed) {
            return; // another worker already reopened it
        }
        channel = null;
        if (failed != null) {
            failed.close();
        }
        VolumeChannel next;
        try {
            next = openChannel(gate, name, certificate, deadline);
        } catch (AttachmentFencedException e) {
            throw new ExportFencedException(e.getMessage());
        } catch (EngineUnavailableException e) {
            if (gate.stopping()) {
                throw new NbdError(Nbd.ESHUTDOWN, "server is shutting down");
            }
            throw new NbdError(Nbd.EIO, "storage engine unavailable: " + e.getMessage());
        } catch (IOException e) {
            // the name or certificate no longer opens anything: treat like a fence
            throw new ExportFencedException(e.getMessage());
        }
        if (!next.attachmentId().equals(attachmentId)) {
            next.close();
            throw new ExportFencedException("the export now belongs to another attachment");
        }
        watch(next);
        channel = next;
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
        return attachmentId;
    }

    @Override
    public boolean ready() {
        VolumeChannel c = channel;
        return c != null && c.isOpen();
    }

    @Override
    public boolean readOnly() {
        return false;
    }

    @Override
    public boolean multiConn() {
        // Every channel of a volume writes through the same engine file and VolumeChannel.flush
        // makes every acknowledged write durable, not only this channel's: FLUSH and FUA on one
        // connection cover writes answered on all of them.
        return true;
    }

    @Override
    public boolean canZeroFast(long offset, long length, boolean mayPunch) throws IOException {
        return call(c -> c.canZeroFast(offset, length, !mayPunch));
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int position = dst.position();
        call(c -> {
            dst.position(position); // a retried read starts over
            c.read(offset, dst);
            return null;
        });
    }

    @Override
    public Region region(long offset, int length) throws IOException {
        VolumeChannel.Region region = call(c -> c.region(offset, length).orElse(null));
        return region == null ? null : new EngineRegion(region);
    }

    @Override
    public Region mapped(long offset, int length) throws IOException {
        VolumeChannel.Region region = call(c -> c.mapped(offset, length).orElse(null));
        if (region == null) {
            return null;
        }
        EngineRegion mapped = new EngineRegion(region);
        if (mapped.memory == null) {
            mapped.close();
            return null;
        }
        return mapped;
    }

    /** The engine's region as the connection's. */
    private static final class EngineRegion implements Region {
        private final VolumeChannel.Region region;
        private final ByteBuffer memory;

        EngineRegion(VolumeChannel.Region region) {
            this.region = region;
            this.memory = region.memory().orElse(null);
        }

        @Override
        public void sendTo(WritableByteChannel target) throws IOException {
            region.sendTo(target);
        }

        @Override
        public ByteBuffer memory() {
            return memory == null ? null : memory.duplicate();
        }

        @Override
        public void close() {
            region.close();
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        int position = src.position();
        call(c -> {
            src.position(position); // a retried write sends the same bytes again
            c.write(offset, src, fua);
            return null;
        });
    }

    @Override
    public void flush() throws IOException {
        call(c -> {
            c.flush();
            return null;
        });
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        call(c -> {
            c.trim(offset, length);
            if (fua) {
                c.flush();
            }
            return null;
        });
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayPunch, boolean fua) throws IOException {
        call(c -> {
            c.writeZeroes(offset, length, !mayPunch, fua);
            return null;
        });
    }

    @Override
    public void blockStatus(long offset, long length, int maxExtents, ExtentSink sink) throws IOException {
        List<Extent> extents = call(c -> c.blockStatus(offset, length));
        int n = 0;
        for (Extent e : extents) {
            if (n++ >= maxExtents) {
                break;
            }
            sink.extent(e.length(), (e.hole() ? Nbd.STATE_HOLE : 0) | (e.zero() ? Nbd.STATE_ZERO : 0));
        }
    }

    @Override
    public void onFenced(Consumer<String> closer) {
        this.fenced = closer;
        VolumeChannel c = channel;
        if (c != null && !c.isOpen()) {
            // fenced before the session was listening
            try {
                c.size();
            } catch (AttachmentFencedException e) {
                closer.accept("attachment fenced: " + e.getMessage());
            } catch (IOException e) {
                // engine away: the next request decides
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        VolumeChannel c = channel;
        if (c != null) {
            c.close();
        }
    }
}
