package cairn.upgrade.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import cairn.platform.api.errors.InvalidInputException;

/** Reading upgrade jars: bundle headers, and signatures checked with the JDK's own keytool and jarsigner. */
public class BundleJarTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void aBundleIsReadWithItsNameAndVersion() throws Exception {
        BundleJar jar = BundleJar.read(bundle("a.jar", "cairn.example;singleton:=true", "1.2.3.qualifier"));
        assertEquals("cairn.example", jar.symbolicName());
        assertEquals("1.2.3.qualifier", jar.version().toString());
        assertFalse(jar.signed());
    }

    @Test
    public void somethingThatIsNotABundleIsRefusedWithTheReason() throws Exception {
        Path noManifestVersion = tmp.getRoot().toPath().resolve("plain.jar");
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(noManifestVersion), m)) {
            out.putNextEntry(new JarEntry("x.txt"));
            out.write(1);
        }
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> BundleJar.read(noManifestVersion));
        assertTrue(e.getMessage(), e.getMessage().contains("Bundle-ManifestVersion must be 2"));
        Path garbage = tmp.getRoot().toPath().resolve("garbage.jar");
        Files.writeString(garbage, "no zip here");
        assertTrue(assertThrows(InvalidInputException.class, () -> BundleJar.read(garbage)).getMessage()
                .contains("not a readable jar"));
        Path badVersion = bundle("v.jar", "cairn.example", "one.two");
        assertTrue(assertThrows(InvalidInputException.class, () -> BundleJar.read(badVersion)).getMessage()
                .contains("Bundle-Version is not a version"));
    }

    @Test
    public void onlyASignatureByATrustedCertificateCounts() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Path vendor = keyStore(dir.resolve("vendor.p12"), "vendor");
        Path stranger = keyStore(dir.resolve("stranger.p12"), "stranger");
        Path trust = dir.resolve("trust.p12");
        Path cert = dir.resolve("vendor.cer");
        tool("keytool", "-exportcert", "-alias", "signer", "-keystore", vendor.toString(), "-storepass", "changeit",
                "-file", cert.toString());
        tool("keytool", "-importcert", "-noprompt", "-alias", "vendor", "-file", cert.toString(), "-keystore",
                trust.toString(), "-storetype", "PKCS12", "-storepass", "trustpass");

        Path bySigner = bundle("signed.jar", "cairn.example", "2.0.0");
        tool("jarsigner", "-keystore", vendor.toString(), "-storepass", "changeit", bySigner.toString(), "signer");
        Path byStranger = bundle("stranger.jar", "cairn.example", "2.0.0");
        tool("jarsigner", "-keystore", stranger.toString(), "-storepass", "changeit", byStranger.toString(), "signer");
        Path unsigned = bundle("unsigned.jar", "cairn.example", "2.0.0");

        List<String> problems = new ArrayList<>();
        TrustedSigners trusted = TrustedSigners.load(trust, "trustpass".toCharArray(), problems);
        assertEquals(List.of(), problems);
        BundleJar signed = BundleJar.read(bySigner);
        assertTrue(signed.signed());
        assertTrue(trusted.trustedSigner(signed).orElseThrow().contains("CN=vendor"));
        assertTrue(BundleJar.read(byStranger).signed());
        assertTrue("a stranger's signature is not trusted", trusted.trustedSigner(BundleJar.read(byStranger)).isEmpty());
        assertTrue(trusted.trustedSigner(BundleJar.read(unsigned)).isEmpty());

        List<String> missing = new ArrayList<>();
        TrustedSigners.load(dir.resolve("absent.p12"), new char[0], missing);
        assertTrue(missing.toString(), missing.get(0).contains("does not exist"));
    }

    @Test
    public void aSignedJarChangedAfterSigningIsRefused() throws Exception {
        Path dir = tmp.getRoot().toPath();
        Path vendor = keyStore(dir.resolve("vendor.p12"), "vendor");
        Path jar = bundle("signed.jar", "cairn.example", "2.0.0");
        tool("jarsigner", "-keystore", vendor.toString(), "-storepass", "changeit", jar.toString(), "signer");
        Path tampered = dir.resolve("tampered.jar");
        try (ZipFile in = new ZipFile(jar.toFile()); ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(tampered))) {
            for (ZipEntry e : java.util.Collections.list(in.entries())) {
                out.putNextEntry(new ZipEntry(e.getName()));
                byte[] data = in.getInputStream(e).readAllBytes();
                if (e.getName().equals("cairn/example/Data.txt")) {
                    data = "changed after signing".getBytes(StandardCharsets.UTF_8);
                }
                out.write(data);
                out.closeEntry();
            }
        }
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> BundleJar.read(tampered));
        assertTrue(e.getMessage(), e.getMessage().contains("does not match its signature")
                || e.getMessage().contains("not a readable jar"));
    }

    private Path bundle(String name, String bsn, String version) throws IOException {
        Path p = tmp.getRoot().toPath().resolve(name);
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        a.putValue("Bundle-Version", version);
        try (OutputStream os = Files.newOutputStream(p); JarOutputStream out = new JarOutputStream(os, m)) {
            out.putNextEntry(new JarEntry("cairn/example/Data.txt"));
            out.write("content".getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        return p;
    }

    private static Path keyStore(Path file, String cn) throws Exception {
        tool("keytool", "-genkeypair", "-alias", "signer", "-keyalg", "EC", "-groupname", "secp256r1", "-dname",
                "CN=" + cn, "-validity", "30", "-keystore", file.toString(), "-storetype", "PKCS12", "-storepass",
                "changeit", "-keypass", "changeit");
        return file;
    }

    private static void tool(String name, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", name).toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(cmd + " failed: " + out);
        }
    }
}
