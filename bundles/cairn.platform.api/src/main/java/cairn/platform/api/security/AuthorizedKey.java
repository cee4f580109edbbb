package cairn.platform.api.security;

import java.time.Instant;

/**
 * An SSH public key that may log in as its owner.
 *
 * @param fingerprint SHA256 fingerprint as OpenSSH prints it ({@code SHA256:...})
 * @param type        key type, e.g. {@code ssh-ed25519}
 * @param publicKey   the key in OpenSSH authorized_keys form ({@code type base64 [comment]})
 */
public record AuthorizedKey(String owner, String fingerprint, String type, String publicKey, String comment,
        Instant addedAt) {
}
