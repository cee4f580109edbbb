package cairn.upgrade.api;

/**
 * An image staged for the next start.
 *
 * @param slot        the slot it was unpacked into
 * @param version     its firmware version
 * @param role        its appliance role
 * @param bytes       bytes unpacked
 * @param takesEffect when it takes effect, in words
 * @param slots       the slots after staging
 */
public record ImageStaging(String slot, String version, String role, long bytes, String takesEffect,
        ImageSlotsStatus slots) {
}
