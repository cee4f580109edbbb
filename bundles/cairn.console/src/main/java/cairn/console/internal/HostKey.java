package cairn.console.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.Iterator;

import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.config.keys.KeyUtils;
import org.apache.sshd.common.config.keys.writer.openssh.OpenSSHKeyPairResourceWriter;
import org.apache.sshd.common.keyprovider.KeyPairProvider;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's SSH host key: an Ed25519 key generated at first boot and kept in
 * {@code DATA/tls/ssh_host_ed25519_key} (OpenSSH format, mode 0600), beside the other
 * generated key material, so clients see the same host key after restarts and upgrades.
 */
final class HostKey {

    static final String FILE = "ssh_host_ed25519_key";
    private static final Logger LOG = LoggerFactory.getLogger(HostKey.class);

    private HostKey() {
    }

    static KeyPair loadOrCreate(Path dir) throws IOException, GeneralSecurityException {
        Path file = dir.resolve(FILE);
        if (Files.exists(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                Iterable<KeyPair> pairs = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName(file.toString()),
                        in, null);
                Iterator<KeyPair> it = pairs == null ? null : pairs.iterator();
                if (it == null || !it.hasNext()) {
                    throw new GeneralSecurityException("no key in " + file);
                }
                return it.next();
            }
        }
        KeyPair pair = KeyUtils.generateKeyPair(KeyPairProvider.SSH_ED25519, 256);
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, FILE, ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try (OutputStream out = Files.newOutputStream(tmp)) {
            OpenSSHKeyPairResourceWriter.INSTANCE.writePrivateKey(pair, "cairn host key", null, out);
        }
        // written whole or not at all: a crash never leaves half a key that would change on next boot
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        LOG.info("First boot: SSH host key {} created in {}", KeyUtils.getFingerPrint(pair.getPublic()), file);
        return pair;
    }
}
