package cairn.nbd.internal;

/**
 * Per-connection bounds, advertised (block sizes) and enforced (in-flight work).
 *
 * @param minimumBlock        smallest I/O the server accepts unaligned (1: any byte range)
 * @param preferredBlock      the size below which I/O costs a read-modify-write somewhere
 * @param maxPayload          largest READ or WRITE payload
 * @param workers             worker threads per connection (requests run out of order)
 * @param maxRequestsInFlight requests read but not yet answered, per connection
 * @param maxBytesInFlight    payload bytes held for requests in flight, per connection
 * @param inlineMax           READs up to this many bytes and plain WRITEs of any size (over TLS: up
 *                            to it) run on the connection's own thread, their replies sent together
 *                            (writes up to it straight from the input buffer); larger READs, FUA
 *                            writes, FLUSH and the rest go to the workers; 0: every request does
 */
record Limits(int minimumBlock, int preferredBlock, int maxPayload, int workers, int maxRequestsInFlight,
        int maxBytesInFlight, int inlineMax) {

    /** Largest {@link #inlineMax}: the connection's input and reply batch buffers are sized for it. */
    static final int MAX_INLINE = 256 * 1024;
    static final int DEFAULT_INLINE = 64 * 1024;

    Limits {
        if (minimumBlock < 1 || preferredBlock < minimumBlock || maxPayload < preferredBlock) {
            throw new IllegalArgumentException("block sizes must satisfy 1 <= minimum <= preferred <= maximum");
        }
        if (Integer.bitCount(minimumBlock) != 1 || Integer.bitCount(preferredBlock) != 1) {
            throw new IllegalArgumentException("minimum and preferred block sizes must be powers of two");
        }
        if (workers < 1 || maxRequestsInFlight < 1 || maxBytesInFlight < maxPayload) {
            throw new IllegalArgumentException("workers and in-flight bounds must allow at least one full request");
        }
        if (inlineMax < 0 || inlineMax > MAX_INLINE) {
            throw new IllegalArgumentException("inline requests must be between 0 and " + MAX_INLINE + " bytes");
        }
    }

    Limits(int minimumBlock, int preferredBlock, int maxPayload, int workers, int maxRequestsInFlight,
            int maxBytesInFlight) {
        this(minimumBlock, preferredBlock, maxPayload, workers, maxRequestsInFlight, maxBytesInFlight,
                Math.min(DEFAULT_INLINE, maxPayload));
    }
}
