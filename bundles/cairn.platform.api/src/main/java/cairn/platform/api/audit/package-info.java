/** The audit log: who did what, to what, from where, with which result. */
@Export
@Version("1.0.0")
package cairn.platform.api.audit;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
