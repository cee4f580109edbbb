package cairn.blockstore.internal;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import cairn.blockstore.api.AttachmentState;
import cairn.blockstore.api.Standby;

/**
 * Where attachments, their epochs, leases and standbys are kept. Today the appliance's
 * Derby ({@link Store}); fleet-wide state moves to ZooKeeper by implementing this
 * interface there, without touching the engine or the data path.
 */
interface AttachmentLedger {

    /**
     * Stores a new attachment with the volume's next epoch, atomically with what it implies:
     * the volume is in use, {@code fencedAttachmentId} (a takeover) is fenced, the new
     * holder's standby registration is used up.
     *
     * @return the new epoch
     */
    long insertAttachment(Store.AttachmentRow attachment, String fencedAttachmentId);

    /** Ends an attachment (detached or fenced); the volume becomes available. */
    void endAttachment(String attachmentId, String volumeId, AttachmentState state);

    void setLease(String attachmentId, Instant expiresAt);

    List<Store.AttachmentRow> activeAttachments();

    Optional<Store.AttachmentRow> attachment(String id);

    Optional<Store.AttachmentRow> attachmentByExport(String exportName);

    Optional<Store.AttachmentRow> attachmentByCertificate(String sha256);

    void addStandby(String volumeId, String instanceId, Instant at);

    void removeStandby(String volumeId, String instanceId);

    List<Standby> standbys(String volumeId);
}
