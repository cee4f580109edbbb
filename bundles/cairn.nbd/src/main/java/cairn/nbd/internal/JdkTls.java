package cairn.nbd.internal;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * The JDK's own TLS engines (JSSE), where BoringSSL does not load ({@link OpenSslTls}) or
 * the operator chose them ({@code cairn.nbd} {@code tlsEngine=jdk}).
 */
record JdkTls(SSLContext context) implements TlsProvider {

    @Override
    public SSLEngine newEngine() {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        engine.setNeedClientAuth(true);
        engine.setEnabledProtocols(TlsWire.PROTOCOLS);
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setCipherSuites(TlsWire.preferredOrder(engine.getEnabledCipherSuites()));
        parameters.setUseCipherSuitesOrder(true);
        engine.setSSLParameters(parameters);
        return engine;
    }
}
