package cairn.nbd.internal;

import java.security.cert.X509Certificate;

/**
 * Who is on the other end of a connection.
 *
 * @param address     remote address, for logs
 * @param unix        true when it came through the unix socket
 * @param certificate the verified client certificate after STARTTLS, else null
 */
record Peer(String address, boolean unix, X509Certificate certificate) {

    Peer withCertificate(X509Certificate cert) {
        return new Peer(address, unix, cert);
    }

    boolean tls() {
        return certificate != null;
    }
}
