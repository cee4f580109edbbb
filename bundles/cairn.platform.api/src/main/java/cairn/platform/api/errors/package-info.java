/**
 * Domain errors shared by every area. REST maps each kind to one status code and a
 * body {@code {"error": code, "message": text}}; the SSH console prints the message on
 * one line and exits non-zero. Messages are written for the person who must act on them.
 */
@Export
@Version("1.0.0")
package cairn.platform.api.errors;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
