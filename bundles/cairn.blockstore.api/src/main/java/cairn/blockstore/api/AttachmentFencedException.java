package cairn.blockstore.api;

import java.io.IOException;

/**
 * The attachment this channel or these credentials belong to is no longer the volume's
 * current one: it was taken over, force-detached or detached. Final: the NBD server closes
 * the connection and never retries with the same credentials.
 */
public class AttachmentFencedException extends IOException {

    private static final long serialVersionUID = 1L;

    private final String attachmentId;
    private final long epoch;

    public AttachmentFencedException(String attachmentId, long epoch, String message) {
        super(message);
        this.attachmentId = attachmentId;
        this.epoch = epoch;
    }

    public String attachmentId() {
        return attachmentId;
    }

    /** The epoch of the fenced attachment. */
    public long epoch() {
        return epoch;
    }
}
