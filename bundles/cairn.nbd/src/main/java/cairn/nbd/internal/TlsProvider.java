package cairn.nbd.internal;

import java.io.IOException;

import javax.net.ssl.SSLEngine;

/** The server's TLS engines, asked for one at the moment a client asks for STARTTLS. */
interface TlsProvider {

    /**
     * A server-mode engine that requires a client certificate, for one connection.
     *
     * @throws IOException when no engine can be had in time; the connection then ends
     */
    SSLEngine newEngine() throws IOException;
}
