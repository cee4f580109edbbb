/** Appliance identity and the framework-wide constants every Cairn bundle shares. */
@Export
@Version("1.1.0")
package cairn.platform.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
