package cairn.image;

/**
 * An image staged in a slot; it takes effect at the next start, on trial.
 *
 * @param slot    the slot it was unpacked into
 * @param version its firmware version
 * @param role    its appliance role
 * @param bytes   bytes unpacked
 * @param state   the slots after staging
 */
public record StagedImage(String slot, String version, String role, long bytes, SlotState state) {
}
