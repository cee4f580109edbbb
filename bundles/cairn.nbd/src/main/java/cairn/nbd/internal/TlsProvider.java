package cairn.nbd.internal;

import java.io.IOException;

import javax.net.ssl.SSLContext;

/** The server's TLS context at the moment a client asks for STARTTLS. */
interface TlsProvider {

    /** @throws IOException when no context can be had in time; the connection then ends */
    SSLContext context() throws IOException;
}
