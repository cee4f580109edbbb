package cairn.blockstore.api;

/**
 * The blocks of a volume written, trimmed or zeroed after a given generation: what an
 * incremental snapshot uploads and what a returning mirror resyncs. Conservative: a block
 * may be listed that holds the same bytes as before, never the other way round.
 *
 * @param volumeId        the volume
 * @param blockSize       the tracking granularity in bytes ({@link VolumeService#TRACKING_BLOCK_SIZE})
 * @param afterGeneration the generation asked about
 * @param generation      the volume's generation when the answer was made
 * @param blocks          block indexes (byte offset = index * blockSize), ascending
 */
public record ChangedBlocks(String volumeId, int blockSize, long afterGeneration, long generation, long[] blocks) {
}
