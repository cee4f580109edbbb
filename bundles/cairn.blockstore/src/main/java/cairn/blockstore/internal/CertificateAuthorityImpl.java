package cairn.blockstore.internal;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.blockstore.api.BlockstoreConstants;
import cairn.blockstore.api.tls.FleetCertificateAuthority;
import cairn.platform.api.AppliancePaths;

/**
 * The fleet CA under {@code DATA/tls/}: created at first boot, adopted afterwards. The NBD
 * server certificate is reissued whenever the host names it must carry change or it comes
 * within 30 days of expiry. Keys are EC P-256: small, fast, and read by gnutls and JSSE.
 * BouncyCastle only builds certificates; signing and parsing use the JDK's providers, so no
 * provider is registered globally.
 */
@Component(immediate = true, configurationPid = BlockstoreConstants.CA_PID)
@Designate(ocd = CertificateAuthorityImpl.Config.class)
public class CertificateAuthorityImpl implements FleetCertificateAuthority {

    @ObjectClassDefinition(name = "Cairn fleet certificate authority", description = "Certificates for NBD over TLS")
    public @interface Config {
        @AttributeDefinition(description = "Host name or address clients use to reach this appliance's NBD server; "
                + "empty: the bind address, or this machine's host name when bound to every address")
        String advertisedHost() default "";

        @AttributeDefinition(description = "Further host names or addresses the server certificate names")
        String[] extraHostNames() default {};

        @AttributeDefinition(description = "Days a server certificate is valid", min = "31")
        int serverValidityDays() default 825;
    }

    static final String SIGNATURE = "SHA256withECDSA";
    private static final Logger LOG = LoggerFactory.getLogger(CertificateAuthorityImpl.class);
    private static final char[] NO_PASSWORD = new char[0];

    private final SecureRandom random = new SecureRandom();
    private final PrivateKey caKey;
    private final X509Certificate caCert;
    private final String caPem;
    private final ServerIdentity server;

    @Activate
    public CertificateAuthorityImpl(BundleContext context, Config config) throws IOException, GeneralSecurityException {
        Path dir = Path.of(context.getProperty(AppliancePaths.DATA)).resolve("tls");
        Files.createDirectories(dir);
        Path caKeyFile = dir.resolve("fleet-ca-key.pem");
        Path caCertFile = dir.resolve("fleet-ca.pem");
        if (Files.exists(caKeyFile) && Files.exists(caCertFile)) {
            caKey = Pem.parsePrivateKey(Files.readString(caKeyFile), "EC");
            caCert = Pem.parseCertificate(Files.readString(caCertFile));
        } else {
            KeyPair kp = newKeyPair();
            X500Name name = new X500Name("CN=Cairn fleet CA " + Long.toHexString(random.nextLong()) + ",O=Cairn");
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(), Date.from(now.minusSeconds(3600)),
                    Date.from(now.plus(Duration.ofDays(20 * 365))), name, kp.getPublic());
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            caKey = kp.getPrivate();
            caCert = sign(b, caKey);
            // Key first: a certificate without its key would be adopted and useless.
            Pem.write(caKeyFile, Pem.privateKey(caKey, kp.getPublic()), true);
            Pem.write(caCertFile, Pem.certificate(caCert), false);
            LOG.info("created the fleet CA {}", caCert.getSubjectX500Principal());
        }
        caPem = Pem.certificate(caCert);
        server = loadOrIssueServer(dir, hostNames(context, config), config.serverValidityDays());
    }

    @Override
    public X509Certificate trustedCertificate() {
        return caCert;
    }

    @Override
    public String trustedCertificatePem() {
        return caPem;
    }

    @Override
    public ServerIdentity serverIdentity() {
        return server;
    }

    @Override
    public SSLContext newServerContext() {
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("server", server.privateKey(), NO_PASSWORD,
                    server.chain().toArray(X509Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, NO_PASSWORD);
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("fleet-ca", caCert);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), random);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build the TLS server context: " + e.getMessage(), e);
        }
    }

    @Override
    public IssuedCertificate issueClientCertificate(String commonName, Duration validity) {
        try {
            KeyPair kp = newKeyPair();
            Instant now = Instant.now();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(),
                    Date.from(now.minusSeconds(300)), Date.from(now.plus(validity)),
                    new X500Name(rdn("CN", commonName) + ",O=Cairn"), kp.getPublic());
            leafExtensions(b, kp.getPublic(), KeyPurposeId.id_kp_clientAuth);
            X509Certificate cert = sign(b, caKey);
            return new IssuedCertificate(cert, Pem.certificate(cert), Pem.privateKey(kp.getPrivate(), kp.getPublic()));
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot issue a client certificate: " + e.getMessage(), e);
        }
    }

    private ServerIdentity loadOrIssueServer(Path dir, List<String> hosts, int validityDays)
            throws IOException, GeneralSecurityException {
        Path keyFile = dir.resolve("nbd-server-key.pem");
        Path certFile = dir.resolve("nbd-server.pem");
        if (Files.exists(keyFile) && Files.exists(certFile)) {
            X509Certificate cert = Pem.parseCertificate(Files.readString(certFile));
            boolean fresh = cert.getNotAfter().toInstant().isAfter(Instant.now().plus(Duration.ofDays(30)));
            boolean sameIssuer = cert.getIssuerX500Principal().equals(caCert.getSubjectX500Principal());
            if (fresh && sameIssuer && Set.copyOf(hosts).equals(Set.copyOf(namesOf(cert)))) {
                return new ServerIdentity(Pem.parsePrivateKey(Files.readString(keyFile), "EC"), List.of(cert, caCert),
                        List.copyOf(hosts));
            }
        }
        KeyPair kp = newKeyPair();
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(caCert, serial(), Date.from(now.minusSeconds(3600)),
                Date.from(now.plus(Duration.ofDays(validityDays))), new X500Name(rdn("CN", hosts.get(0)) + ",O=Cairn"),
                kp.getPublic());
        leafExtensions(b, kp.getPublic(), KeyPurposeId.id_kp_serverAuth);
        GeneralName[] names = hosts.stream()
                .map(h -> new GeneralName(isAddress(h) ? GeneralName.iPAddress : GeneralName.dNSName, h))
                .toArray(GeneralName[]::new);
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names));
        X509Certificate cert = sign(b, caKey);
        Pem.write(keyFile, Pem.privateKey(kp.getPrivate(), kp.getPublic()), true);
        Pem.write(certFile, Pem.certificate(cert), false);
        LOG.info("issued the NBD server certificate for {}", hosts);
        return new ServerIdentity(kp.getPrivate(), List.of(cert, caCert), List.copyOf(hosts));
    }

    private void leafExtensions(X509v3CertificateBuilder b, PublicKey key, KeyPurposeId purpose)
            throws CertIOException, GeneralSecurityException {
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(key));
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(caCert));
    }

    /** The advertised host first (it is the host of every attachment URI), then the local names. */
    static List<String> hostNames(BundleContext context, Config config) {
        Set<String> hosts = new LinkedHashSet<>();
        hosts.add(advertisedHost(context, config));
        String bind = context.getProperty(AppliancePaths.BIND);
        if (bind != null && !isWildcard(bind)) {
            hosts.add(bind.trim());
        }
        hosts.add("localhost");
        hosts.add("127.0.0.1");
        hosts.add("::1");
        for (String h : config.extraHostNames()) {
            if (h != null && !h.isBlank()) {
                hosts.add(h.trim());
            }
        }
        return new ArrayList<>(hosts);
    }

    static String advertisedHost(BundleContext context, Config config) {
        if (!config.advertisedHost().isBlank()) {
            return config.advertisedHost().trim();
        }
        String bind = context.getProperty(AppliancePaths.BIND);
        if (bind != null && !isWildcard(bind)) {
            return bind.trim();
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }

    private static boolean isWildcard(String bind) {
        String b = bind.trim();
        return b.isEmpty() || b.equals("0.0.0.0") || b.equals("::") || b.equals("[::]");
    }

    static boolean isAddress(String host) {
        return host.matches("[0-9.]+") || host.contains(":");
    }

    private static List<String> namesOf(X509Certificate cert) throws GeneralSecurityException {
        List<String> names = new ArrayList<>();
        Collection<List<?>> sans = cert.getSubjectAlternativeNames();
        if (sans != null) {
            for (List<?> san : sans) {
                String value = String.valueOf(san.get(1));
                // The JDK prints IPv6 addresses in full form; compare through InetAddress.
                if (((Integer) san.get(0)) == GeneralName.iPAddress) {
                    try {
                        value = InetAddress.getByName(value).getHostAddress();
                    } catch (IOException e) {
                        // keep as printed
                    }
                }
                names.add(value);
            }
        }
        return names.stream().map(n -> n.equals("0:0:0:0:0:0:0:1") ? "::1" : n).toList();
    }

    private static String rdn(String type, String value) {
        return type + "=" + value.replaceAll("([,+\"\\\\<>;=])", "\\\\$1");
    }

    private BigInteger serial() {
        return new BigInteger(127, random).add(BigInteger.ONE);
    }

    private KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), random);
        return g.generateKeyPair();
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder(SIGNATURE).build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }
}
