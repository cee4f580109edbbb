package cairn.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.Enumeration;
import java.util.List;
import java.util.Optional;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import org.osgi.framework.Bundle;

/**
 * The jars of every version a bundle has had through upgrades, under
 * {@code DATA/upgrades/<bsn>/<version>.jar}: the previous jar to restore after a failed
 * upgrade, and the one a manual rollback goes back to.
 */
final class JarArchive {

    private final Path root;
    private final Path imageBundles;

    JarArchive(Path root, Path imageBundles) {
        this.root = root;
        this.imageBundles = imageBundles;
    }

    Path incoming() throws IOException {
        Path dir = root.resolve("incoming");
        Files.createDirectories(dir);
        return dir;
    }

    Path jar(String bsn, String version) {
        return root.resolve(safe(bsn)).resolve(safe(version) + ".jar");
    }

    Optional<Path> find(String bsn, String version) {
        Path p = jar(bsn, version);
        return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
    }

    /**
     * Keeps the jar of the bundle as it is installed now: already archived, else the
     * image's own jar of that version, else rebuilt from the installed bundle's entries
     * (the framework keeps no public handle on the original file).
     */
    Path keepCurrent(Bundle bundle) throws IOException {
        String bsn = bundle.getSymbolicName();
        String version = bundle.getVersion().toString();
        Path target = jar(bsn, version);
        if (Files.isRegularFile(target)) {
            return target;
        }
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Optional<Path> fromImage = imageJar(bsn, version);
        if (fromImage.isPresent()) {
            Files.copy(fromImage.get(), tmp, StandardCopyOption.REPLACE_EXISTING);
        } else {
            rebuild(bundle, tmp);
        }
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return target;
    }

    /** Moves an accepted jar into the archive under its version. */
    Path keep(Path jar, String bsn, String version) throws IOException {
        Path target = jar(bsn, version);
        Files.createDirectories(target.getParent());
        Files.move(jar, target, StandardCopyOption.REPLACE_EXISTING);
        return target;
    }

    private Optional<Path> imageJar(String bsn, String version) {
        if (imageBundles == null || !Files.isDirectory(imageBundles)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(imageBundles)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".jar")).toList()) {
                try {
                    BundleJar j = BundleJar.read(p);
                    if (j.symbolicName().equals(bsn) && j.version().toString().equals(version)) {
                        return Optional.of(p);
                    }
                } catch (RuntimeException notABundle) {
                    // not a candidate
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    private static void rebuild(Bundle bundle, Path target) throws IOException {
        URL mf = bundle.getEntry("META-INF/MANIFEST.MF");
        if (mf == null) {
            throw new IOException("bundle " + bundle.getSymbolicName() + " has no manifest entry to rebuild its jar from");
        }
        Manifest manifest;
        try (InputStream in = mf.openStream()) {
            manifest = new Manifest(in);
        }
        Enumeration<URL> entries = bundle.findEntries("/", "*", true);
        List<URL> all = entries == null ? List.of() : Collections.list(entries);
        try (OutputStream out = Files.newOutputStream(target); JarOutputStream jar = new JarOutputStream(out, manifest)) {
            for (URL u : all) {
                String name = u.getPath().startsWith("/") ? u.getPath().substring(1) : u.getPath();
                if (name.isEmpty() || name.equalsIgnoreCase("META-INF/MANIFEST.MF") || name.equalsIgnoreCase("META-INF/")) {
                    continue;
                }
                jar.putNextEntry(new JarEntry(name));
                if (!name.endsWith("/")) {
                    try (InputStream in = u.openStream()) {
                        in.transferTo(jar);
                    }
                }
                jar.closeEntry();
            }
        }
    }

    private static String safe(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
