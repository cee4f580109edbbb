package cairn.blockstore.api;

/**
 * What an NBD client needs for TLS with a client certificate, in PEM. The three files a
 * libnbd or qemu client reads from a directory: {@code ca-cert.pem}, {@code client-cert.pem},
 * {@code client-key.pem}.
 *
 * @param caCertPem     the fleet CA that signed the server's and the client's certificates
 * @param clientCertPem the client certificate issued for one attachment
 * @param clientKeyPem  its private key (PKCS#8, unencrypted)
 */
public record TlsCredentials(String caCertPem, String clientCertPem, String clientKeyPem) {

    @Override
    public String toString() {
        // Never print the key by accident (logs, audit details).
        return "TlsCredentials[client certificate issued, key withheld]";
    }
}
