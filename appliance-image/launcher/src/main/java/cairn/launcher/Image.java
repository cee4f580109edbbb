package cairn.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * An installed appliance image: {@code bundles/} (the resolved bundle set of its role),
 * {@code etc/} (pristine defaults), {@code lib/} (launcher and framework) and
 * {@code etc/image.properties} (version and role, written by the build).
 */
record Image(Path home, String version, String role) {

    static Image at(Path home) {
        Properties p = Main.load(home.resolve("etc/image.properties"));
        if (!Files.isDirectory(home.resolve("bundles"))) {
            throw new Options.UsageException(home + " is not a Cairn image (no bundles/ directory)");
        }
        return new Image(home, p.getProperty("version", "unknown"), p.getProperty("role", "all-in-one"));
    }

    Path etc() {
        return home.resolve("etc");
    }

    List<Path> bundles() {
        try (Stream<Path> s = Files.list(home.resolve("bundles"))) {
            return s.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Extra framework properties shipped with the image. */
    Map<String, String> frameworkProperties() {
        Map<String, String> result = new HashMap<>();
        Main.load(etc().resolve("framework.properties")).forEach((k, v) -> result.put(k.toString(), v.toString()));
        return result;
    }

    /** Start level per bundle symbolic name; bundles not named start last. */
    Properties startLevels() {
        return Main.load(etc().resolve("startlevels.properties"));
    }
}
