package cairn.blockstore.api;

import java.time.Instant;

/**
 * The exclusive attachment of a volume to one instance.
 *
 * @param attachmentId     stable identifier ({@code att-} and 16 hex digits)
 * @param volumeId         the volume
 * @param instanceId       the program that holds it
 * @param epoch            the fencing epoch; a later attachment of the same volume has a larger one
 * @param state            active, fenced or detached
 * @param leaseExpiresAt   when the lease runs out if nothing renews it; while a connection is
 *                         open the lease is held and this moves forward with the clock
 * @param openConnections  NBD connections (I/O channels) open on it right now
 * @param exportName       the NBD export name: unguessable, one per attachment
 * @param uri              where to connect, e.g. {@code nbds://host:10809/<exportName>}
 *                         ({@code nbd://} when the NBD server runs without TLS in lab mode)
 * @param tls              the client's TLS material; present only in the answer of
 *                         {@code attach} and {@code takeover} (to the instance that holds the
 *                         attachment), null when an attachment is merely described
 * @param createdAt        when it was created
 */
public record Attachment(String attachmentId, String volumeId, String instanceId, long epoch,
        AttachmentState state, Instant leaseExpiresAt, int openConnections, String exportName, String uri,
        TlsCredentials tls, Instant createdAt) {

    /** A copy without the key material, for describing an attachment to anyone. */
    public Attachment withoutCredentials() {
        return new Attachment(attachmentId, volumeId, instanceId, epoch, state, leaseExpiresAt, openConnections,
                exportName, uri, null, createdAt);
    }
}
