package cairn.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The certificates an operator trusts to sign upgrades, from a PKCS#12 trust store.
 * A jar is trusted when one of its signers' chains contains a trusted certificate or
 * a certificate issued by one.
 */
final class TrustedSigners {

    private final List<X509Certificate> trusted;

    private TrustedSigners(List<X509Certificate> trusted) {
        this.trusted = trusted;
    }

    /** Loads the store; an absent or unreadable store trusts nobody and says why. */
    static TrustedSigners load(Path store, char[] password, List<String> problems) {
        if (!Files.isRegularFile(store)) {
            problems.add("signing is required but the trust store " + store + " does not exist");
            return new TrustedSigners(List.of());
        }
        try (InputStream in = Files.newInputStream(store)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            List<X509Certificate> certs = new ArrayList<>();
            for (String alias : Collections.list(ks.aliases())) {
                Certificate c = ks.getCertificate(alias);
                if (c instanceof X509Certificate x) {
                    certs.add(x);
                }
            }
            if (certs.isEmpty()) {
                problems.add("signing is required but the trust store " + store + " holds no certificate");
            }
            return new TrustedSigners(certs);
        } catch (IOException | GeneralSecurityException e) {
            problems.add("signing is required but the trust store " + store + " cannot be read: " + e.getMessage());
            return new TrustedSigners(List.of());
        }
    }

    /** The subject of the trusted signer of the jar, if any. */
    Optional<String> trustedSigner(BundleJar jar) {
        if (!jar.signed()) {
            return Optional.empty();
        }
        for (Certificate[] chain : jar.signers()) {
            for (Certificate c : chain) {
                if (!(c instanceof X509Certificate x)) {
                    continue;
                }
                for (X509Certificate t : trusted) {
                    if (t.equals(x) || issuedBy(x, t)) {
                        return Optional.of(((X509Certificate) chain[0]).getSubjectX500Principal().getName());
                    }
                }
            }
        }
        return Optional.empty();
    }

    private static boolean issuedBy(X509Certificate cert, X509Certificate issuer) {
        if (!cert.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
            return false;
        }
        try {
            cert.verify(issuer.getPublicKey());
            cert.checkValidity();
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
