package cairn.platform.api;

import java.time.Instant;

/**
 * Who this appliance is. Created once at first boot and kept in the metadata store,
 * so it survives restarts and upgrades.
 *
 * @param id        a random, stable identifier (UUID)
 * @param name      a human-friendly name, by default derived from the host name
 * @param role      the role the image was assembled for (storage, compute, all-in-one)
 * @param createdAt when the appliance booted for the first time
 */
public record ApplianceIdentity(String id, String name, String role, Instant createdAt) {
}
