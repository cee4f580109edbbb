package cairn.blockstore.internal;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-memory side of an active attachment: its open channels and its lease. Rebuilt
 * from Derby on activation; the lease is held while a channel is open, and otherwise until
 * {@link #leaseExpiresAtMillis}.
 */
final class LiveAttachment {

    final Store.AttachmentRow row;
    final Set<ChannelImpl> channels = ConcurrentHashMap.newKeySet();
    volatile long leaseExpiresAtMillis;
    /** Set under the volume's io write lock when the attachment is fenced or detached. */
    volatile boolean ended;

    LiveAttachment(Store.AttachmentRow row, long leaseExpiresAtMillis) {
        this.row = row;
        this.leaseExpiresAtMillis = leaseExpiresAtMillis;
    }

    boolean leaseHeld(long nowMillis) {
        return !channels.isEmpty() || nowMillis < leaseExpiresAtMillis;
    }
}
