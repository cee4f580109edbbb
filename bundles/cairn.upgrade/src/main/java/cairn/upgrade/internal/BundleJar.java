package cairn.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.security.CodeSigner;
import java.security.cert.Certificate;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

import org.osgi.framework.Constants;
import org.osgi.framework.Version;

import cairn.platform.api.errors.InvalidInputException;

/**
 * A jar offered for upgrade, read once on disk: its bundle headers and, when it is
 * signed, the certificate chains that signed every one of its entries.
 */
record BundleJar(Path path, String symbolicName, Version version, boolean fragment, List<Certificate[]> signers,
        List<String> unsignedEntries) {

    static BundleJar read(Path path) {
        Manifest manifest;
        List<Certificate[]> common = null;
        List<String> unsigned = new ArrayList<>();
        try (JarFile jar = new JarFile(path.toFile(), true)) {
            manifest = jar.getManifest();
            if (manifest == null) {
                throw new InvalidInputException("jar", "not a bundle: the jar has no META-INF/MANIFEST.MF");
            }
            byte[] buffer = new byte[64 * 1024];
            Enumeration<JarEntry> entries = jar.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                if (e.isDirectory() || signatureFile(e.getName())) {
                    continue;
                }
                // reading the entry to its end is what makes the JDK verify its digest
                try (InputStream in = jar.getInputStream(e)) {
                    while (in.read(buffer) >= 0) {
                        // drain
                    }
                } catch (SecurityException tampered) {
                    throw new InvalidInputException("jar", "entry " + e.getName() + " does not match its signature: "
                            + tampered.getMessage());
                }
                CodeSigner[] signers = e.getCodeSigners();
                if (signers == null || signers.length == 0) {
                    unsigned.add(e.getName());
                    continue;
                }
                List<Certificate[]> chains = new ArrayList<>();
                for (CodeSigner s : signers) {
                    chains.add(s.getSignerCertPath().getCertificates().toArray(new Certificate[0]));
                }
                common = common == null ? chains : intersect(common, chains);
            }
        } catch (IOException | SecurityException e) {
            throw new InvalidInputException("jar", "not a readable jar: " + e.getMessage());
        }
        Attributes main = manifest.getMainAttributes();
        if (!"2".equals(trim(main.getValue(Constants.BUNDLE_MANIFESTVERSION)))) {
            throw new InvalidInputException("jar", "not an OSGi bundle: Bundle-ManifestVersion must be 2");
        }
        String bsn = trim(main.getValue(Constants.BUNDLE_SYMBOLICNAME));
        if (bsn == null || bsn.isEmpty()) {
            throw new InvalidInputException("jar", "not an OSGi bundle: no Bundle-SymbolicName");
        }
        int semi = bsn.indexOf(';');
        bsn = (semi < 0 ? bsn : bsn.substring(0, semi)).trim();
        Version version;
        try {
            version = Version.parseVersion(trim(main.getValue(Constants.BUNDLE_VERSION)));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("jar", "Bundle-Version is not a version: " + e.getMessage());
        }
        boolean fragment = main.getValue(Constants.FRAGMENT_HOST) != null;
        return new BundleJar(path, bsn, version, fragment, common == null ? List.of() : common, unsigned);
    }

    /** True when every entry is signed by at least one common signer. */
    boolean signed() {
        return !signers.isEmpty() && unsignedEntries.isEmpty();
    }

    private static List<Certificate[]> intersect(List<Certificate[]> a, List<Certificate[]> b) {
        Set<Certificate> leavesB = new LinkedHashSet<>();
        for (Certificate[] chain : b) {
            leavesB.add(chain[0]);
        }
        List<Certificate[]> out = new ArrayList<>();
        for (Certificate[] chain : a) {
            if (leavesB.contains(chain[0])) {
                out.add(chain);
            }
        }
        return out;
    }

    private static boolean signatureFile(String name) {
        String n = name.toUpperCase(java.util.Locale.ROOT);
        if (!n.startsWith("META-INF/") || n.indexOf('/', "META-INF/".length()) >= 0) {
            return false;
        }
        return n.equals("META-INF/MANIFEST.MF") || n.endsWith(".SF") || n.endsWith(".RSA") || n.endsWith(".DSA")
                || n.endsWith(".EC") || n.startsWith("META-INF/SIG-");
    }

    private static String trim(String s) {
        return s == null ? null : s.trim();
    }
}
