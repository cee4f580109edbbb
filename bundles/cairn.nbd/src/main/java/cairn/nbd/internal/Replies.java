package cairn.nbd.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Encodes transmission replies and writes each one whole: workers finish out of order,
 * and the lock keeps one reply's header and payload together on the wire.
 */
final class Replies {

    private static final int MAX_MESSAGE = 256;

    private final Wire wire;
    private final boolean structured;
    private final ReentrantLock lock = new ReentrantLock();
    private final ByteBuffer header = ByteBuffer.allocateDirect(64);
    private final ByteBuffer[] pair = new ByteBuffer[2];

    Replies(Wire wire, boolean structured) {
        this.wire = wire;
        this.structured = structured;
    }

    /** Success without payload (WRITE, FLUSH, TRIM, WRITE_ZEROES): a simple reply is allowed in both modes. */
    void ok(long handle) throws IOException {
        lock.lock();
        try {
            header.clear();
            header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(handle).flip();
            wire.write(header);
        } finally {
            lock.unlock();
        }
    }

    /** READ data, already complete: one chunk, so NBD_CMD_FLAG_DF is always honoured. */
    void data(long handle, long offset, ByteBuffer data) throws IOException {
        lock.lock();
        try {
            header.clear();
            if (!structured) {
                header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(0).putLong(handle);
            } else if (!data.hasRemaining()) {
                structuredHeader(Nbd.REPLY_TYPE_NONE, handle, 0);
            } else {
                structuredHeader(Nbd.REPLY_TYPE_OFFSET_DATA, handle, 8 + data.remaining());
                header.putLong(offset);
            }
            header.flip();
            pair[0] = header;
            pair[1] = data;
            wire.write(pair);
        } finally {
            pair[1] = null;
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
            structuredHeader(Nbd.REPLY_TYPE_BLOCK_STATUS, handle, payload.remaining());
            header.flip();
            pair[0] = header;
            pair[1] = payload;
            wire.write(pair);
        } finally {
            pair[1] = null;
            lock.unlock();
        }
    }

    /** An error: a structured error chunk with the message when negotiated, else a simple reply. */
    void error(long handle, int errno, String message) throws IOException {
        byte[] text = message == null ? new byte[0] : message.getBytes(StandardCharsets.UTF_8);
        int textLength = Math.min(text.length, MAX_MESSAGE);
        lock.lock();
        try {
            header.clear();
            if (structured) {
                structuredHeader(Nbd.REPLY_TYPE_ERROR, handle, 6 + textLength);
                header.putInt(errno).putShort((short) textLength).flip();
                pair[0] = header;
                pair[1] = ByteBuffer.wrap(text, 0, textLength);
                wire.write(pair);
            } else {
                header.putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(errno).putLong(handle).flip();
                wire.write(header);
            }
        } finally {
            pair[1] = null;
            lock.unlock();
        }
    }

    private void structuredHeader(int type, long handle, int length) {
        header.putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) Nbd.REPLY_FLAG_DONE).putShort((short) type)
                .putLong(handle).putInt(length);
    }
}
