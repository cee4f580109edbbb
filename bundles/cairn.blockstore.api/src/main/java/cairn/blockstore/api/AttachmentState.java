package cairn.blockstore.api;

import java.util.Locale;

/** The life cycle of an attachment. Only an {@link #ACTIVE} attachment may do I/O. */
public enum AttachmentState {
    /** The current attachment of its volume; its credentials work. */
    ACTIVE,
    /** Ended by a takeover or a forced detach: connections closed, credentials refused forever. */
    FENCED,
    /** Ended by its holder: credentials refused forever. */
    DETACHED;

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AttachmentState parse(String id) {
        for (AttachmentState s : values()) {
            if (s.id().equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown attachment state '" + id + "'");
    }
}
