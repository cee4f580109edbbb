/**
 * Block storage: the volume catalog, attachments with leases and fencing epochs, and
 * the per-connection I/O channel that the NBD server drives. Implemented by
 * {@code cairn.blockstore}; REST, SSH and NBD are thin surfaces over these services.
 */
@Export
@Version("1.4.0")
package cairn.blockstore.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
