package cairn.blockstore.api;

import java.util.Locale;

/** The life cycle of a volume. */
public enum VolumeState {
    /** Its data file is being created; no I/O yet. */
    CREATING,
    /** Exists, not attached. */
    AVAILABLE,
    /** Attached to an instance. */
    IN_USE,
    /** Being deleted; it disappears from the catalog when its data is gone. */
    DELETING,
    /** Its data file is missing or unusable; an operator has to look at it. */
    ERROR;

    /** The lower-case name used in JSON, SSH and the database. */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static VolumeState parse(String id) {
        for (VolumeState s : values()) {
            if (s.id().equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown volume state '" + id + "'");
    }
}
