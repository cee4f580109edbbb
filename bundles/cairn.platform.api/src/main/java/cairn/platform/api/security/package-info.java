/**
 * Users, roles, accounts, API tokens and SSH keys: one implementation in
 * {@code cairn.platform} that the web and the SSH console both use, so neither
 * surface depends on the other.
 */
@Export
@Version("1.0.0")
package cairn.platform.api.security;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
