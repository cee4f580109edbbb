package cairn.blockstore.api;

/**
 * A run of bytes with the same allocation status, as NBD's {@code base:allocation}
 * context reports it.
 *
 * @param offset the first byte
 * @param length how many bytes
 * @param hole   no storage is allocated for it (NBD_STATE_HOLE)
 * @param zero   it reads as zeros (NBD_STATE_ZERO); every hole is zero
 */
public record Extent(long offset, long length, boolean hole, boolean zero) {
}
