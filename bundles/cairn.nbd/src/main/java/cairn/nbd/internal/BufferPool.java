package cairn.nbd.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Direct buffers for request and reply payloads, in power-of-two size classes, so the
 * hot path neither allocates nor copies through the heap. Buffers beyond the retained
 * budget are dropped on release and left to the collector.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12;

    /** Stacks: the buffer released last is taken first, while it is still in the CPU's cache. */
    private final ConcurrentLinkedDeque<ByteBuffer>[] classes;
    private final long retainBytes;
    private final AtomicLong retained = new AtomicLong();

    @SuppressWarnings("unchecked")
    BufferPool(int maxBuffer, long retainBytes) {
        int maxShift = shift(maxBuffer);
        this.classes = new ConcurrentLinkedDeque[maxShift - MIN_SHIFT + 1];
        for (int i = 0; i < classes.length; i++) {
            classes[i] = new ConcurrentLinkedDeque<>();
        }
        this.retainBytes = retainBytes;
    }

    /** A buffer with position 0 and limit {@code size}. */
    ByteBuffer acquire(int size) {
        int shift = shift(size);
        int index = shift - MIN_SHIFT;
        if (index >= classes.length) {
            return ByteBuffer.allocateDirect(size);
        }
        ByteBuffer b = classes[index].pollFirst();
        if (b == null) {
            b = ByteBuffer.allocateDirect(1 << shift);
        } else {
            retained.addAndGet(-b.capacity());
        }
        b.clear().limit(size);
        return b;
    }

    void release(ByteBuffer b) {
        if (b == null || !b.isDirect() || Integer.bitCount(b.capacity()) != 1) {
            return;
        }
        int index = shift(b.capacity()) - MIN_SHIFT;
        if (index < 0 || index >= classes.length) {
            return;
        }
        if (retained.addAndGet(b.capacity()) > retainBytes) {
            retained.addAndGet(-b.capacity());
            return;
        }
        classes[index].offerFirst(b);
    }

    long retainedBytes() {
        return retained.get();
    }

    private static int shift(int size) {
        int s = 32 - Integer.numberOfLeadingZeros(Math.max(size, 1) - 1);
        return Math.max(s, MIN_SHIFT);
    }
}
