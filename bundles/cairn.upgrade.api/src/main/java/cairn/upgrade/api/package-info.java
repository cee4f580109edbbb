/**
 * Hot upgrade of single bundles: validate a jar, show its impact, swap it live, wait
 * for health, then commit or restore the previous jar; the history of every attempt.
 * Firmware images: stage a whole appliance image in the inactive slot for the next start.
 *
 * <p>A bundle of its own rather than a package of {@code cairn.platform.api}: the REST
 * and SSH surfaces and {@code cairn.upgrade} share this contract, while the platform
 * API stays free of a capability that not every role may ship, and the upgrade
 * contract can evolve (and be baselined) without touching the platform's version.
 */
@Export
@Version("1.1.0")
package cairn.upgrade.api;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
