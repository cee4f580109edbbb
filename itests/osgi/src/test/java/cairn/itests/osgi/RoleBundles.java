package cairn.itests.osgi;

import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.frameworkStartLevel;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.systemPackage;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.jar.JarInputStream;
import java.util.stream.Stream;

import org.ops4j.pax.exam.Option;

/**
 * Pax Exam options that boot the all-in-one role's resolved bundle set (the same jars
 * the image ships), with the image's start levels, on a fresh data directory.
 */
final class RoleBundles {

    static final int DEFAULT_LEVEL = 10;

    private RoleBundles() {
    }

    static Option[] allInOne(Path data) {
        Path dir = Path.of(System.getProperty("cairn.bundles"));
        Properties levels = new Properties();
        try (InputStream in = Files.newInputStream(Path.of(System.getProperty("cairn.startlevels")))) {
            levels.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Option> options = new ArrayList<>();
        try (Stream<Path> jars = Files.list(dir)) {
            for (Path jar : jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList()) {
                String bsn = symbolicName(jar);
                if (bsn == null || bsn.equals("org.apache.felix.framework")) {
                    continue;
                }
                int level = Integer.parseInt(levels.getProperty(bsn, Integer.toString(DEFAULT_LEVEL)).trim());
                // a fragment (BoringSSL for netty) attaches to its host and is never started
                options.add(bundle(jar.toUri().toString()).startLevel(level).start(!fragment(jar)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        options.add(junitBundles());
        // Ed25519 keys of the SSH console (eddsa) need the JDK's X.509 classes
        options.add(systemPackage("sun.security.x509"));
        // block storage ends its volumes' read mappings through sun.misc.Unsafe, as in the appliance
        options.add(systemPackage("sun.misc"));
        options.add(frameworkStartLevel(DEFAULT_LEVEL + 1));
        options.add(cleanCaches());
        options.add(frameworkProperty("cairn.data").value(data.toString()));
        options.add(frameworkProperty("cairn.role").value("all-in-one"));
        options.add(frameworkProperty("org.apache.felix.http.host").value("127.0.0.1"));
        // every listener on loopback and a free port: several test runs share this machine
        options.add(frameworkProperty("cairn.bind").value("127.0.0.1"));
        options.add(frameworkProperty("cairn.nbd.port").value(Integer.toString(freePort())));
        options.add(frameworkProperty("cairn.ssh.port").value(Integer.toString(freePort())));
        options.add(frameworkProperty("org.osgi.service.http.port").value(Integer.toString(freePort())));
        options.add(frameworkProperty("felix.fileinstall.dir").value(data.resolve("etc").toString()));
        options.add(frameworkProperty("felix.fileinstall.poll").value("200"));
        // as in the appliance (FrameworkSettings): configurations changed through Config Admin are
        // not written back to etc/. FileInstall writes such a file in place, and its next poll
        // once read it empty and applied an empty configuration: the engine restarted on its
        // defaults in the middle of BlockstoreTest and every later test found no engine.
        options.add(frameworkProperty("felix.fileinstall.enableConfigSave").value("false"));
        options.add(systemProperty("derby.stream.error.file").value(data.resolve("derby.log").toString()));
        options.add(systemProperty("org.ops4j.pax.url.mvn.localRepository")
                .value(System.getProperty("org.ops4j.pax.url.mvn.localRepository")));
        return options.toArray(Option[]::new);
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String symbolicName(Path jar) throws IOException {
        try (JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
            if (in.getManifest() == null) {
                return null;
            }
            String bsn = in.getManifest().getMainAttributes().getValue("Bundle-SymbolicName");
            return bsn == null ? null : bsn.split(";")[0].trim();
        }
    }

    static boolean fragment(Path jar) throws IOException {
        try (JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
            return in.getManifest() != null && in.getManifest().getMainAttributes().getValue("Fragment-Host") != null;
        }
    }

    static Path newDataDirectory() {
        try {
            Path data = Files.createTempDirectory(Path.of("target"), "osgi-data-").toAbsolutePath();
            Files.createDirectories(data.resolve("etc"));
            return data;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
