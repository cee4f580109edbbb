package cairn.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Encodes transmission replies. Two ways out, both writing each reply whole under one lock:
 * <ul>
 * <li>{@link #direct}: for workers; each reply is written at once (header and payload in one
 * gathering write).</li>
 * <li>{@link #batched}: for the connection's own thread, which runs small requests itself;
 * replies (header and READ data laid out together, the data read straight into place)
 * collect in one buffer and leave in a single write when the thread is about to block
 * ({@link #flush}), so a burst of small requests costs one write instead of one per reply.</li>
 * </ul>
 */
final class Replies {

    private static final int MAX_MESSAGE = 256;
    /** Room for the largest reply header: structured OFFSET_DATA (20 + 8 bytes). */
    private static final int HEADER_ROOM = 32;
    /**
     * Large READ replies over TLS are read and sealed in pieces of this size: four records'
     * plaintext, small enough to stay in the CPU's cache between the read and the sealing.
     */
    static final int PIECE = 64 * 1024;
    /** Batch capacity: a full inline READ reply always fits into an emptied batch. */
    static final int BATCH = Limits.MAX_INLINE + HEADER_ROOM + 64 * 1024;

    /** Fills a READ reply's data area completely (from position to limit). */
    interface Filler {
        default void fill(ByteBuffer dst) throws IOException {
            fill(0, dst);
        }

        /** Fills {@code dst} (position to limit) with the data from {@code skip} bytes into the reply on. */
        void fill(int skip, ByteBuffer dst) throws IOException;

        /** The data as a region to send from the file as it is, or null: then {@link #fill} is used. */
        default Export.Region region() throws IOException {
            return null;
        }

        /** The data as a region in mapped memory, or null: then {@link #fill} is used. */
        default Export.Region mapped() throws IOException {
            return null;
        }
    }

    /**
     * A reply whose header has left but not all of its data: the stream can no longer be
     * framed, so the connection must end (the client resends on its next connection).
     */
    static final class CutShortException extends IOException {
        private static final long serialVersionUID = 1L;

        CutShortException(String message, IOException cause) {
            super(message, cause);
        }
    }

    /** Where replies go. */
    interface Out {
        /** Success without payload (WRITE, FLUSH, TRIM, WRITE_ZEROES): a simple reply is allowed in both modes. */
        void ok(long handle) throws IOException;

        /** An error: a structured error chunk with the message when negotiated, else a simple reply. */
        void error(long handle, int errno, String message) throws IOException;

        /**
         * Reads {@code length} bytes through {@code filler} and replies with them in one chunk
         * (so NBD_CMD_FLAG_DF is always honoured). When the filler throws, nothing is sent,
         * except over TLS when it throws after the first piece of a large reply left: then a
         * {@link CutShortException}.
         */
        void read(long handle, long offset, int length, Filler filler) throws IOException;
    }

    private final Wire wire;
    private final boolean structured;
    private final BufferPool pool;
    private final ReentrantLock lock = new ReentrantLock();
    private final ByteBuffer header = ByteBuffer.allocateDirect(64);
    private final ByteBuffer[] pair = new ByteBuffer[2];
    private final ByteBuffer batch = ByteBuffer.allocateDirect(BATCH);

    final Out direct = new Direct();
    final Out batched = new Batched();

    Replies(Wire wire, boolean structured, BufferPool pool) {
        this.wire = wire;
        this.structured = structured;
        this.pool = pool;
    }

    /** Sends the batched replies. Only the connection's own thread calls this. */
    void flush() throws IOException {
        if (batch.position() == 0) {
            return;
        }
        batch.flip();
        lock.lock();
        try {
            wire.write(batch);
        } finally {
            batch.clear();
            lock.unlock();
        }
    }

    void blockStatus(long handle, int contextId, long[] lengths, int[] flags, int count) throws IOException {
        ByteBuffer payload = ByteBuffer.allocate(4 + 8 * count);
        payload.putInt(contextId);
        for (int i = 0; i < count; i++) {
            payload.putInt((int) lengths[i]).putInt(flags[i]);
        }
        payload.flip();
        lock.lock();
        try {
            header.clear();
            structuredHeader(header, Nbd.REPLY_TYPE_BLOCK_STATUS, handle, payload.remaining());
            header.flip();
            pair[0] = header;
            pair[1] = payload;
            wire.write(pair);
        } finally {
            pair[1] = null;
            lock.unlock();
        }
    }

    private void okHeader(ByteBuffer b, long handle) {
        b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(handle);
    }

    private void dataHeader(ByteBuffer b, long handle, long offset, int length) {
        if (!structured) {
            b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(handle);
        } else if (length == 0) {
            structuredHeader(b, Nbd.REPLY_TYPE_NONE, handle, 0);
        } else {
            structuredHeader(b, Nbd.REPLY_TYPE_OFFSET_DATA, handle, 8 + length);
            b.putLong(offset);
        }
    }

    /** Writes the error's header into {@code b}; returns the message bytes to follow it (empty when simple). */
    private ByteBuffer errorHeader(ByteBuffer b, long handle, int errno, String message) {
        if (!structured) {
            b.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(errno).putLong(handle);
            return ByteBuffer.allocate(0);
        }
        byte[] text = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        int textLength = Math.min(text.length, MAX_MESSAGE);
        structuredHeader(b, Nbd.REPLY_TYPE_ERROR, handle, 6 + textLength);
        b.putInt(errno).putShort((short) textLength);
        return ByteBuffer.wrap(text, 0, textLength);
    }

    private static void structuredHeader(ByteBuffer b, int type, long handle, int length) {
        b.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE).putShort((short) type)
                .putLong(handle).putInt(length);
    }

    private final class Direct implements Out {

        @Override
        public void ok(long handle) throws IOException {
            lock.lock();
            try {
                header.clear();
                okHeader(header, handle);
                wire.write(header.flip());
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void error(long handle, int errno, String message) throws IOException {
            lock.lock();
            try {
                header.clear();
                pair[1] = errorHeader(header, handle, errno, message);
                pair[0] = header.flip();
                wire.write(pair);
            } finally {
                pair[1] = null;
                lock.unlock();
            }
        }

        @Override
        public void read(long handle, long offset, int length, Filler filler) throws IOException {
            WritableByteChannel plain = wire.plainChannel();
            if (length > 0 && plain != null) {
                Export.Region region = filler.region();
                if (region != null) {
                    try (region) {
                        send(handle, offset, length, region, plain);
                    }
                    return;
                }
            } else if (length > 0 && wire.writesMappedMemory()) {
                Export.Region region = filler.mapped();
                if (region != null) {
                    try (region) {
                        sendMemory(handle, offset, length, region.memory());
                    }
                    return;
                }
            } else if (length > PIECE && wire.encrypted()) {
                // offered only when all of the data is in the page cache: then reading it
                // piece by piece under the reply lock waits on no disk
                Export.Region cached = filler.mapped();
                if (cached != null) {
                    try (cached) {
                        sendInPieces(handle, offset, length, filler);
                    }
                    return;
                }
            }
            ByteBuffer data = pool.acquire(length);
            try {
                filler.fill(data);
                data.flip();
                lock.lock();
                try {
                    header.clear();
                    dataHeader(header, handle, offset, length);
                    pair[0] = header.flip();
                    pair[1] = data;
                    wire.write(pair);
                } finally {
                    pair[1] = null;
                    lock.unlock();
                }
            } finally {
                pool.release(data);
            }
        }
    }

    /**
     * The header, then the data from the file to the socket by the kernel (sendfile): no copy
     * through a buffer of this process, on either side of it.
     */
    private void send(long handle, long offset, int length, Export.Region region, WritableByteChannel plain)
            throws IOException {
        lock.lock();
        try {
            header.clear();
            dataHeader(header, handle, offset, length);
            wire.write(header.flip());
            try {
                region.sendTo(plain);
            } catch (IOException e) {
                throw new CutShortException("READ reply cut short: " + e.getMessage(), e);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The header and the data from mapped memory in one gathering write: the kernel copies the
     * data from the page cache into the socket, with no buffer of this process in between.
     */
    private void sendMemory(long handle, long offset, int length, ByteBuffer memory) throws IOException {
        lock.lock();
        try {
            header.clear();
            dataHeader(header, handle, offset, length);
            pair[0] = header.flip();
            pair[1] = memory;
            try {
                wire.write(pair);
            } catch (IOException e) {
                // a page that could not be read (or a broken socket) after part of the reply left
                throw new CutShortException("READ reply cut short: " + e.getMessage(), e);
            }
        } finally {
            pair[1] = null;
            lock.unlock();
        }
    }

    /**
     * The header, then the data read piece by piece into a buffer of a few TLS records'
     * plaintext, each piece written (sealed and sent) before the next is read: the data is
     * encrypted while it is still in the CPU's cache, and the client starts on the first
     * records while the rest are read. Only for data in the page cache; data still on disk
     * is read whole outside the lock, in parallel with other replies' reads. A read error on
     * the first piece fails the request before anything leaves; on a later one it ends the
     * connection.
     */
    private void sendInPieces(long handle, long offset, int length, Filler filler) throws IOException {
        ByteBuffer piece = pool.acquire(PIECE);
        try {
            filler.fill(0, piece);
            lock.lock();
            try {
                header.clear();
                dataHeader(header, handle, offset, length);
                pair[0] = header.flip();
                pair[1] = piece.flip();
                try {
                    wire.write(pair);
                    for (int done = PIECE; done < length; done += PIECE) {
                        piece.clear().limit(Math.min(PIECE, length - done));
                        filler.fill(done, piece);
                        wire.write(piece.flip());
                    }
                } catch (IOException e) {
                    throw new CutShortException("READ reply cut short: " + e.getMessage(), e);
                }
            } finally {
                pair[1] = null;
                lock.unlock();
            }
        } finally {
            pool.release(piece);
        }
    }

    /** Appends to {@link #batch}; the connection's thread only. */
    private final class Batched implements Out {

        private void room(int bytes) throws IOException {
            if (batch.remaining() < bytes) {
                flush();
            }
        }

        @Override
        public void ok(long handle) throws IOException {
            room(HEADER_ROOM);
            okHeader(batch, handle);
        }

        @Override
        public void error(long handle, int errno, String message) throws IOException {
            room(HEADER_ROOM + MAX_MESSAGE);
            batch.put(errorHeader(batch, handle, errno, message));
        }

        @Override
        public void read(long handle, long offset, int length, Filler filler) throws IOException {
            if (length > Limits.MAX_INLINE) {
                direct.read(handle, offset, length, filler);
                return;
            }
            room(HEADER_ROOM + length);
            int start = batch.position();
            dataHeader(batch, handle, offset, length);
            int dataStart = batch.position();
            // the data lands right behind its header: no copy between the file and the socket write
            ByteBuffer dst = batch.slice(dataStart, length);
            try {
                filler.fill(dst);
            } catch (IOException | RuntimeException e) {
                batch.position(start);
                throw e;
            }
            batch.position(dataStart + length);
        }
    }
}
