package cairn.upgrade.api;

import java.util.Map;

/**
 * The image slots of this appliance.
 *
 * @param running        the slot the running appliance was booted from
 * @param runningVersion the version of the running image
 * @param active         the slot the next start boots when nothing is pending
 * @param pending        the slot staged for the next start (on trial), or null
 * @param trial          the slot whose trial has not ended, or null
 * @param versions       the image version per slot that holds one
 * @param bad            per slot marked bad, the reason
 */
public record ImageSlotsStatus(String running, String runningVersion, String active, String pending, String trial,
        Map<String, String> versions, Map<String, String> bad) {

    public ImageSlotsStatus {
        versions = Map.copyOf(versions);
        bad = Map.copyOf(bad);
    }
}
