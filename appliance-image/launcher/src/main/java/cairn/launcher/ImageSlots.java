package cairn.launcher;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * Firmware-style A/B image slots under the data directory.
 *
 * <p>Slot {@code a} is, until an image is staged into it, the image the launcher was
 * started from. {@code cairn upgrade IMAGE.tar.gz} unpacks a new image into the
 * inactive slot ({@code DATA/images/<slot>/}) with an empty framework storage
 * ({@code DATA/framework/<slot>/}) and marks it pending. The next start boots the pending
 * slot on trial: healthy within the timeout, it becomes the active slot; not healthy (or
 * the process dies during the trial) and the slot is marked bad, so the following start
 * boots the previous slot again. Configuration ({@code etc/}), volumes and the database
 * are shared by both slots and never touched here.
 *
 * <p>State lives in {@code DATA/images/slots.properties}, replaced atomically:
 * {@code active}, {@code pending}, {@code trial}, {@code bad.<slot>}.
 */
final class ImageSlots {

    static final String A = "a";
    static final String B = "b";

    /** Which slot to boot, from which image, and whether this boot is a trial. */
    record Boot(String slot, Image image, boolean trial, String note) {
    }

    private final DataDirectory data;
    private final Path file;
    private final Properties state;

    private ImageSlots(DataDirectory data) {
        this.data = data;
        this.file = data.root().resolve("images/slots.properties");
        this.state = Main.load(file);
    }

    static ImageSlots of(DataDirectory data) {
        return new ImageSlots(data);
    }

    String active() {
        return state.getProperty("active", A);
    }

    static String other(String slot) {
        return A.equals(slot) ? B : A;
    }

    Path imageDir(String slot) {
        return data.root().resolve("images").resolve(slot);
    }

    /** The image of a slot: the staged one, or for an unstaged slot {@code a} the installed image. */
    Image image(String slot, Image installed) {
        Path dir = imageDir(slot);
        if (Files.isDirectory(dir.resolve("bundles"))) {
            return Image.at(dir);
        }
        return installed;
    }

    /** Decides what this start boots; a trial that never finished counts as failed. */
    Boot chooseBoot(Image installed) {
        String unfinished = state.getProperty("trial");
        String note = null;
        if (unfinished != null) {
            markBad(unfinished, "the appliance stopped before the image in slot " + unfinished + " became healthy");
            note = "image in slot " + unfinished + " did not become healthy during its trial; booting slot " + active();
        }
        String pending = state.getProperty("pending");
        if (pending != null && state.getProperty("bad." + pending) == null) {
            state.setProperty("trial", pending);
            state.setProperty("trial.started", Instant.now().toString());
            save();
            return new Boot(pending, image(pending, installed), true,
                    "booting the new image in slot " + pending + " on trial (previous: slot " + active() + ")");
        }
        return new Boot(active(), image(active(), installed), false, note);
    }

    /** The trial slot became healthy: it is the active slot from now on. */
    void commit(String slot) {
        state.setProperty("active", slot);
        state.remove("pending");
        state.remove("trial");
        state.remove("trial.started");
        state.remove("bad." + slot);
        save();
    }

    void markBad(String slot, String reason) {
        state.setProperty("bad." + slot, reason);
        if (slot.equals(state.getProperty("pending"))) {
            state.remove("pending");
        }
        if (slot.equals(state.getProperty("trial"))) {
            state.remove("trial");
            state.remove("trial.started");
        }
        save();
    }

    /**
     * Unpacks an image archive into the inactive slot, checks that it is an image, empties
     * the slot's framework storage and marks the slot pending. Nothing of the active slot
     * changes; a failure leaves the previous state as it was.
     */
    String stage(Path archive) {
        if (!Files.isRegularFile(archive)) {
            throw new Options.UsageException(archive + " is not a file");
        }
        String slot = other(active());
        Path target = imageDir(slot);
        Path staging = data.root().resolve("images").resolve(slot + ".staging");
        try {
            deleteTree(staging);
            Files.createDirectories(staging);
            Process tar = new ProcessBuilder(List.of("tar", "-xzf", archive.toAbsolutePath().toString(), "-C",
                    staging.toString())).redirectErrorStream(true).start();
            String output = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!tar.waitFor(300, TimeUnit.SECONDS) || tar.exitValue() != 0) {
                throw new Options.UsageException(archive + " is not a readable .tar.gz image: " + output.strip());
            }
            Image staged;
            try {
                staged = Image.at(staging);
            } catch (Options.UsageException e) {
                throw new Options.UsageException(archive + " does not hold a Cairn image: " + e.getMessage());
            }
            if (staged.bundles().isEmpty()) {
                throw new Options.UsageException(archive + " holds an image without bundles");
            }
            deleteTree(target);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
            deleteTree(data.framework(slot));
            Files.createDirectories(data.framework(slot));
            state.setProperty("pending", slot);
            state.remove("bad." + slot);
            state.remove("trial");
            save();
            return slot;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Options.UsageException("interrupted while unpacking " + archive);
        } finally {
            try {
                deleteTree(staging);
            } catch (IOException e) {
                System.err.println("cairn: could not remove " + staging + ": " + e.getMessage());
            }
        }
    }

    String describe() {
        StringBuilder s = new StringBuilder("active slot " + active());
        String pending = state.getProperty("pending");
        if (pending != null) {
            s.append(", pending slot ").append(pending);
        }
        for (String slot : new String[] { A, B }) {
            String bad = state.getProperty("bad." + slot);
            if (bad != null) {
                s.append("; slot ").append(slot).append(" is bad: ").append(bad);
            }
        }
        return s.toString();
    }

    private void save() {
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                state.store(out, "Cairn image slots");
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                Files.delete(f);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
