package cairn.blockstore.api;

import java.time.Instant;

/**
 * I/O counters of a volume since the engine last started, for charts: sample twice and
 * divide the differences by the time between the samples. Counted when a request succeeds.
 *
 * @param volumeId        the volume
 * @param sampledAt       when the counters were read
 * @param readOps         read requests
 * @param readBytes       bytes read
 * @param writeOps        write requests (FUA included)
 * @param writeBytes      bytes written
 * @param flushOps        flush requests
 * @param zeroOps         trim and write-zeroes requests
 * @param openConnections channels open right now
 */
public record VolumeStats(String volumeId, Instant sampledAt, long readOps, long readBytes, long writeOps,
        long writeBytes, long flushOps, long zeroOps, int openConnections) {
}
