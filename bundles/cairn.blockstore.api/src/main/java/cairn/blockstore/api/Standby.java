package cairn.blockstore.api;

import java.time.Instant;

/**
 * An instance waiting to take a volume over automatically when the current attachment's
 * lease runs out. The engine takes over on its behalf; the standby then calls
 * {@link VolumeService#attach} (idempotent) to fetch its credentials.
 *
 * @param volumeId     the volume
 * @param instanceId   the waiting instance
 * @param registeredAt when it registered; the earliest registration wins
 */
public record Standby(String volumeId, String instanceId, Instant registeredAt) {
}
