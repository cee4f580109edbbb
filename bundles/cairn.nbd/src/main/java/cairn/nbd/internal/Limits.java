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
 */
record Limits(int minimumBlock, int preferredBlock, int maxPayload, int workers, int maxRequestsInFlight,
        int maxBytesInFlight) {

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
    }
}
