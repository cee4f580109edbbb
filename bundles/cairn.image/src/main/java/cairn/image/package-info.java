/**
 * Appliance images and their A/B slots under the data directory.
 *
 * <p>Plain Java with no dependency beyond the JDK, so the one implementation serves
 * both sides of an image upgrade: the launcher (outside OSGi, on its class path) boots
 * and commits slots, and {@code cairn.upgrade} (inside the framework, as a bundle)
 * stages images uploaded through REST, the UI or SSH. Both write the same slot state
 * file, under a file lock and by atomic replacement.
 */
@Export
@Version("1.0.0")
package cairn.image;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
