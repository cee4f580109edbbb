package cairn.blockstore.api;

import java.time.Instant;

/**
 * A volume as the catalog describes it.
 *
 * @param id                 stable identifier ({@code vol-} and 16 hex digits)
 * @param name               the owner's name for it, unique within the account
 * @param account            the account (tenant) that owns it
 * @param sizeBytes          its size, a positive multiple of {@link VolumeService#SIZE_ALIGNMENT}
 * @param state              where it is in its life cycle
 * @param epoch              the fencing epoch of its latest attachment, 0 when never attached;
 *                           grows with every new attachment and takeover
 * @param attachedInstanceId the instance holding the current attachment, null when none
 * @param createdAt          when it was created
 */
public record Volume(String id, String name, String account, long sizeBytes, VolumeState state, long epoch,
        String attachedInstanceId, Instant createdAt) {
}
