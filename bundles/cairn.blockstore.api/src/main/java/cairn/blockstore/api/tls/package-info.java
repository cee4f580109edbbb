/**
 * The fleet's certificate authority: issues the NBD server certificate and per-attachment
 * client certificates, and gives TLS servers what JSSE needs.
 */
@Export
@Version("1.0.0")
package cairn.blockstore.api.tls;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
