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
 * @param tlsWriteHandoff     whether a TLS WRITE larger than {@code inlineMax} goes to a worker, so
 *                            the connection's thread opens the next payload while it is written; else
 *                            it is written by the connection's thread too, as plain ones are
 */
record Limits(int minimumBlock, int preferredBlock, int maxPayload, int workers, int maxRequestsInFlight,
        int maxBytesInFlight, int inlineMax, boolean tlsWriteHandoff) {

    /** Largest {@link #inlineMax}: the connection's input and reply batch buffers are sized for it. */
    static final int MAX_INLINE = 256 * 1024;
    static final int DEFAULT_INLINE = 64 * 1024;

    /**
     * The handoff pays where another core is free to write while this one decrypts: on a
     * machine of one or two cores that core is the client's or another connection's, and the
     * handoff only adds a thread switch and a write from a buffer no longer in this core's
     * cache (measured on two cores with fio on the same machine: the server's CPU per 1 MiB
     * TLS write 8-10% lower without it, throughput 5% higher; bench/RESULTS.md run K).
     */
    static boolean defaultTlsWriteHandoff() {
        return Runtime.getRuntime().availableProcessors() > 2;
    }

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
                Math.min(DEFAULT_INLINE, maxPayload), defaultTlsWriteHandoff());
    }
}
