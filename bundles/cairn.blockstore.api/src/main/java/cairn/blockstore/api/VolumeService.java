package cairn.blockstore.api;

import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

import cairn.platform.api.errors.ConflictException;
import cairn.platform.api.errors.ForbiddenException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.security.Caller;

/**
 * The volume catalog, attachments and the I/O entry point of the NBD server.
 *
 * <p>Permissions: viewers read what their account owns; operators also create, change,
 * attach and detach; admins see every account and may force a detach. A volume of another
 * account is {@link NotFoundException} (its existence is not revealed). Every mutation is
 * written to the metadata store before it returns and is audited with the caller.
 *
 * <p>Errors: {@link InvalidInputException} names the bad field and nothing changed;
 * {@link ConflictException} carries a stable code: {@code volume_name_taken},
 * {@code volume_attached}, {@code volume_not_attached}, {@code volume_busy} (creating or
 * deleting), {@code volume_error}, {@code attachment_in_use}, {@code attachment_ended},
 * {@code lease_held}, {@code size_shrink}; {@link ForbiddenException} when the role does
 * not allow it.
 */
@ProviderType
public interface VolumeService {

    /** Volume sizes are positive multiples of this. */
    long SIZE_ALIGNMENT = 4096;
    /** The largest volume: 16 TiB. */
    long MAX_SIZE_BYTES = 16L << 40;
    /** The request size I/O is fastest at (NBD preferred block size). */
    int PREFERRED_BLOCK_SIZE = 4096;
    /** The largest single read or write (NBD maximum block size). */
    int MAX_REQUEST_BYTES = 32 << 20;
    /** Granularity of changed-block tracking, holes and point-in-time copies. */
    int TRACKING_BLOCK_SIZE = 64 << 10;
    /** Volume names: 1 to 64 of letters, digits, '.', '_', '-', starting with a letter or digit. */
    String NAME_PATTERN = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";
    /** Instance ids: 1 to 128 printable characters without spaces or '/'. */
    String INSTANCE_ID_PATTERN = "[A-Za-z0-9._:@-]{1,128}";

    // ---- catalog ------------------------------------------------------------------

    /** Creates an empty (all zeros) volume in the caller's account; state {@code available}. */
    Volume create(Caller caller, String name, long sizeBytes);

    /** Every volume the caller may see, by creation time. */
    List<Volume> list(Caller caller);

    Volume get(Caller caller, String volumeId);

    /**
     * Grows a volume, online: attached clients keep working; new connections see the new
     * size. Shrinking is refused ({@code size_shrink}); the same size is a no-op.
     */
    Volume resize(Caller caller, String volumeId, long newSizeBytes);

    /** Deletes the volume and its data. Refused while attached ({@code volume_attached}). */
    void delete(Caller caller, String volumeId);

    /** I/O counters of the volume (viewer), for live IOPS and throughput charts. */
    VolumeStats stats(Caller caller, String volumeId);

    // ---- attachments ---------------------------------------------------------------

    /**
     * Attaches the volume to an instance with a new, larger epoch, a lease, an export name
     * and freshly issued client credentials. When the instance already holds the current
     * attachment, returns that one again (same epoch, same credentials) with
     * {@code created == false}. Another instance holding it: {@code volume_attached}.
     */
    AttachResult attach(Caller caller, String volumeId, String instanceId);

    /** The volume's current attachment without credentials, empty when not attached. */
    Optional<Attachment> attachment(Caller caller, String volumeId);

    /** Extends the lease by the configured lease time from now. Ended attachment: {@code attachment_ended}. */
    Attachment renew(Caller caller, String volumeId, String attachmentId);

    /**
     * Ends the attachment at its holder's request; the volume becomes available. Refused
     * with {@code attachment_in_use} while it has open connections (disconnect first, or
     * an admin forces it). An attachment already ended: {@code attachment_ended}.
     */
    void detach(Caller caller, String volumeId, String attachmentId);

    /** Admin only: fences the attachment (its connections are closed) and detaches it. */
    void forceDetach(Caller caller, String volumeId, String attachmentId);

    /**
     * Gives the volume to {@code instanceId} after the current attachment's lease ran out:
     * a new attachment with a larger epoch; the old one is fenced (connections closed,
     * credentials refused). Refused with {@code lease_held} while the lease runs or a
     * connection is open. Not attached at all: behaves as {@link #attach}. The instance
     * that already holds it: returns its attachment.
     */
    Attachment takeover(Caller caller, String volumeId, String instanceId);

    /**
     * Admin only: gives the volume to {@code instanceId} at once, even while the current
     * attachment's lease runs or its connections are open (its holder is known to be gone or
     * must be stopped). In one step, so no other attach comes in between: the old attachment
     * is fenced (connections closed, credentials refused) and a new one with a larger epoch
     * is made. Otherwise as {@link #takeover}.
     */
    Attachment forceTakeover(Caller caller, String volumeId, String instanceId);

    /**
     * Registers an instance to take the volume over automatically once the current lease
     * runs out. Idempotent. The engine checks leases about four times per lease period.
     */
    Standby registerStandby(Caller caller, String volumeId, String instanceId);

    /** Removes a standby registration; no-op when there is none. */
    void removeStandby(Caller caller, String volumeId, String instanceId);

    /** Standbys of a volume, earliest first. */
    List<Standby> standbys(Caller caller, String volumeId);

    // ---- I/O path (the NBD server) -------------------------------------------------

    /**
     * Opens a channel by export name alone: plaintext lab mode, where the unguessable
     * name is the only credential.
     *
     * @throws ExportRefusedException     unknown export name
     * @throws AttachmentFencedException  the attachment was fenced or detached
     * @throws EngineUnavailableException the engine is stopping
     */
    VolumeChannel open(String exportName) throws IOException;

    /**
     * Opens a channel for a client whose certificate the TLS layer has already verified
     * against {@link cairn.blockstore.api.tls.FleetCertificateAuthority#trustedCertificate()}.
     * The certificate must be the one issued for the attachment of {@code exportName};
     * an empty or null export name selects that attachment.
     *
     * @throws ExportRefusedException     unknown export, or a certificate issued for another one
     * @throws AttachmentFencedException  the certificate's attachment was fenced or detached
     * @throws EngineUnavailableException the engine is stopping
     */
    VolumeChannel open(String exportName, X509Certificate clientCertificate) throws IOException;

    /**
     * The export name the certificate was issued for, if its attachment is still active:
     * what the NBD server lists (NBD_OPT_LIST) to a TLS client.
     */
    Optional<String> exportFor(X509Certificate clientCertificate);

    // ---- snapshots and replication ------------------------------------------------

    /** Opens a point-in-time view of the volume (operator). Close it when done. */
    VolumeView openView(Caller caller, String volumeId) throws IOException;

    /**
     * The blocks changed after {@code afterGeneration} (0: every block ever written).
     * Changes are recorded durably no later than the FLUSH or FUA write that makes them
     * durable.
     */
    ChangedBlocks changedBlocks(Caller caller, String volumeId, long afterGeneration);
}
