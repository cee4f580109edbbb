package cairn.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * An appliance image on disk: {@code bin/cairn}, {@code bundles/} (the resolved bundle
 * set of its role), {@code etc/} (pristine defaults, with {@code image.properties}: version
 * and role, written by the build) and {@code lib/} (launcher and framework).
 *
 * @param home    the image's root folder
 * @param version the firmware version
 * @param role    the appliance role the bundle set was resolved for
 */
public record Image(Path home, String version, String role) {

    /**
     * The image at {@code home}.
     *
     * @throws ImageException when the folder holds no {@code bundles/}
     */
    public static Image at(Path home) {
        if (!Files.isDirectory(home.resolve("bundles"))) {
            throw ImageException.invalid(home + " is not a Cairn image (no bundles/ directory)");
        }
        Properties p = load(home.resolve("etc/image.properties"));
        return new Image(home, p.getProperty("version", "unknown"), p.getProperty("role", "all-in-one"));
    }

    public Path etc() {
        return home.resolve("etc");
    }

    public Path lib() {
        return home.resolve("lib");
    }

    /** The bundle jars, sorted by file name. */
    public List<Path> bundles() {
        return jars(home.resolve("bundles"));
    }

    /** The launcher's class path: the jars of {@code lib/}, sorted by file name. */
    public List<Path> libraries() {
        return Files.isDirectory(lib()) ? jars(lib()) : List.of();
    }

    /** Extra framework properties shipped with the image. */
    public Map<String, String> frameworkProperties() {
        Map<String, String> result = new HashMap<>();
        load(etc().resolve("framework.properties")).forEach((k, v) -> result.put(k.toString(), v.toString()));
        return result;
    }

    /** Start level per bundle symbolic name; bundles not named start last. */
    public Properties startLevels() {
        return load(etc().resolve("startlevels.properties"));
    }

    private static List<Path> jars(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A properties file, or empty properties when there is none. */
    public static Properties load(Path file) {
        Properties p = new Properties();
        if (Files.isRegularFile(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }
}
