package cairn.launcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The appliance's state: {@code db/} (Derby), {@code volumes/}, {@code framework/<slot>/}
 * (Felix storage per image slot), {@code images/} (staged images and the slot state),
 * {@code etc/} (operator configuration), {@code deploy/},
 * {@code tls/}, {@code run/} (sockets) and {@code log/}.
 */
record DataDirectory(Path root) {

    static DataDirectory prepare(Path root) {
        DataDirectory d = new DataDirectory(root);
        try {
            Files.createDirectories(root);
            for (String sub : new String[] { "volumes", "framework", "images", "etc", "deploy", "tls", "run", "log" }) {
                Files.createDirectories(root.resolve(sub));
            }
        } catch (IOException e) {
            throw new Main.UnavailableException("cannot create data directory " + root + ": " + e.getMessage());
        }
        if (!Files.isWritable(root)) {
            throw new Main.UnavailableException("data directory " + root + " is not writable");
        }
        return d;
    }

    Path framework(String slot) {
        return root.resolve("framework").resolve(slot);
    }

    Path etc() {
        return root.resolve("etc");
    }

    Path tls() {
        return root.resolve("tls");
    }

    Path log() {
        return root.resolve("log");
    }

    /**
     * Copies each default configuration file of the image that the operator's
     * {@code etc/} does not have yet. Files already there are the operator's and are
     * never overwritten; deleting one brings the image's default back at the next start.
     */
    void seedConfiguration(Path imageEtc) {
        if (!Files.isDirectory(imageEtc)) {
            return;
        }
        try (Stream<Path> files = Files.list(imageEtc)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".cfg") || p.toString().endsWith(".config")).toList()) {
                Path target = etc().resolve(f.getFileName());
                if (!Files.exists(target)) {
                    Files.copy(f, target);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The operator's logback.xml when there is one, else the image's. */
    Path logbackConfig(Path imageEtc) {
        Path own = etc().resolve("logback.xml");
        return Files.isRegularFile(own) ? own : imageEtc.resolve("logback.xml");
    }
}
