package cairn.blockstore.api.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLContext;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The certificate authority created at first boot under {@code DATA/tls/} (its key never
 * leaves that directory). Signs the appliance's server certificate and the client
 * certificates of attachments.
 */
@ProviderType
public interface FleetCertificateAuthority {

    /** The CA certificate every client and server trusts. */
    X509Certificate trustedCertificate();

    /** The CA certificate in PEM. */
    String trustedCertificatePem();

    /**
     * The server's key and certificate chain (leaf first, then the CA). The leaf names
     * every host that appears in attachment URIs (the advertised NBD host, the bind
     * address, localhost, 127.0.0.1, ::1) as subject alternative names. Renewed by the
     * authority before it expires; ask again for a new context rather than caching forever.
     */
    ServerIdentity serverIdentity();

    /**
     * A TLS server context (TLS 1.2 and 1.3) with {@link #serverIdentity()} as key material
     * and the CA as the only trust anchor. The caller sets {@code setNeedClientAuth(true)}
     * on its engines or sockets.
     */
    SSLContext newServerContext();

    /** Issues a client certificate with the given common name, signed by the CA. */
    IssuedCertificate issueClientCertificate(String commonName, Duration validity);

    /**
     * @param privateKey the server's private key
     * @param chain      leaf first, then the CA
     * @param hostNames  the DNS names and IP addresses the leaf names
     */
    record ServerIdentity(PrivateKey privateKey, List<X509Certificate> chain, List<String> hostNames) {
    }

    /**
     * @param certificate    the issued certificate
     * @param certificatePem it in PEM
     * @param privateKeyPem  its private key in PKCS#8 PEM
     */
    record IssuedCertificate(X509Certificate certificate, String certificatePem, String privateKeyPem) {

        @Override
        public String toString() {
            return "IssuedCertificate[" + certificate.getSubjectX500Principal() + ", key withheld]";
        }
    }
}
