package cairn.nbd.internal;

import java.security.cert.X509Certificate;

/**
 * Who is on the other end of a connection.
 *
 * @param address     remote address, for logs
 * @param unix        true when it came through the unix socket
 * @param certificate the verified client certificate after STARTTLS, else null
 * @param cipherSuite the TLS cipher suite agreed after STARTTLS, else null
 */
record Peer(String address, boolean unix, X509Certificate certificate, String cipherSuite) {

    Peer(String address, boolean unix) {
        this(address, unix, null, null);
    }

    Peer withTls(X509Certificate cert, String suite) {
        return new Peer(address, unix, cert, suite);
    }

    boolean tls() {
        return certificate != null;
    }
}
