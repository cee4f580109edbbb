package cairn.image;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Firmware-style A/B image slots under the data directory.
 *
 * <p>Slot {@code a} is, until an image is staged into it, the image the launcher was
 * installed with. Staging unpacks a new image into the inactive slot
 * ({@code DATA/images/<slot>/}) with an empty framework storage
 * ({@code DATA/framework/<slot>/}) and marks it pending. The next start boots the pending
 * slot on trial: healthy within the timeout, it becomes the active slot; not healthy (or
 * the process dies during the trial) and the slot is marked bad, so the following start
 * boots the previous slot again. Configuration ({@code etc/}), volumes and the database
 * are shared by both slots and never touched here.
 *
 * <p>State lives in {@code DATA/images/slots.properties}: {@code active}, {@code pending},
 * {@code trial}, {@code bad.<slot>}. Two writers share it, the running appliance (staging
 * an upload) and the launcher (starting and ending a trial), possibly in two processes
 * ({@code cairn upgrade} next to a running appliance) or in one JVM through two class
 * loaders. Every change therefore reads, modifies and replaces the file atomically while
 * holding an exclusive lock on {@code DATA/images/slots.lock}.
 */
public final class ImageSlots {

    public static final String A = "a";
    public static final String B = "b";

    /** Which slot to boot, from which image, and whether this boot is a trial. */
    public record Boot(String slot, Image image, boolean trial, String note) {
    }

    /** How long a writer waits for the other one to finish (a staging can take a while). */
    private static final long LOCK_WAIT_MILLIS = 600_000;

    private final Path root;
    private final Path images;
    private final Path file;
    private final Path lockFile;

    private ImageSlots(Path dataRoot) {
        this.root = dataRoot.toAbsolutePath().normalize();
        this.images = root.resolve("images");
        this.file = images.resolve("slots.properties");
        this.lockFile = images.resolve("slots.lock");
    }

    /** The slots of the data directory {@code dataRoot}. */
    public static ImageSlots of(Path dataRoot) {
        return new ImageSlots(dataRoot);
    }

    public static String other(String slot) {
        return A.equals(slot) ? B : A;
    }

    /** A slot's image folder (staged images only). */
    public Path imageDir(String slot) {
        return images.resolve(slot);
    }

    /** A slot's framework storage. */
    public Path frameworkDir(String slot) {
        return root.resolve("framework").resolve(slot);
    }

    public String active() {
        return read().getProperty("active", A);
    }

    /** The image of a slot: the staged one, or for an unstaged slot {@code a} the installed image. */
    public Image image(String slot, Image installed) {
        Path dir = imageDir(slot);
        if (Files.isDirectory(dir.resolve("bundles"))) {
            return Image.at(dir);
        }
        return installed;
    }

    /** The state as it is now. */
    public SlotState state(Image installed) {
        return toState(read(), installed);
    }

    /** Decides what this start boots; a trial that never finished counts as failed. */
    public Boot chooseBoot(Image installed) {
        return update(state -> {
            String unfinished = state.getProperty("trial");
            String note = null;
            if (unfinished != null) {
                bad(state, unfinished, "the appliance stopped before the image in slot " + unfinished
                        + " became healthy");
                note = "image in slot " + unfinished + " did not become healthy during its trial; booting slot "
                        + state.getProperty("active", A);
            }
            String active = state.getProperty("active", A);
            String pending = state.getProperty("pending");
            if (pending != null && state.getProperty("bad." + pending) == null) {
                state.setProperty("trial", pending);
                state.setProperty("trial.started", Instant.now().toString());
                return new Boot(pending, image(pending, installed), true,
                        "booting the new image in slot " + pending + " on trial (previous: slot " + active + ")");
            }
            return new Boot(active, image(active, installed), false, note);
        });
    }

    /** The trial slot became healthy: it is the active slot from now on. */
    public void commit(String slot) {
        update(state -> {
            state.setProperty("active", slot);
            state.remove("pending");
            state.remove("trial");
            state.remove("trial.started");
            state.remove("bad." + slot);
            return null;
        });
    }

    /** The slot failed its trial (or could not boot): the next start boots the active slot. */
    public void markBad(String slot, String reason) {
        update(state -> {
            bad(state, slot, reason);
            return null;
        });
    }

    private static void bad(Properties state, String slot, String reason) {
        state.setProperty("bad." + slot, reason);
        if (slot.equals(state.getProperty("pending"))) {
            state.remove("pending");
        }
        if (slot.equals(state.getProperty("trial"))) {
            state.remove("trial");
            state.remove("trial.started");
        }
    }

    /**
     * Unpacks an image archive into the inactive slot, checks that it is a complete image,
     * empties the slot's framework storage and marks the slot pending. Nothing of the
     * active slot changes; a refusal or failure leaves the slots exactly as they were.
     *
     * @param archive     the {@code .tar.gz} stream, read to its end or to the first fault
     * @param runningSlot the slot of the appliance that asks, or null when none runs in this process;
     *                    staging never replaces it
     * @param installed   the installed image (for the versions reported back)
     * @throws ImageException INVALID for a bad archive, CONFLICT when the inactive slot is in use
     */
    public StagedImage stage(InputStream archive, ImageArchive.Limits limits, String runningSlot, Image installed)
            throws IOException {
        Files.createDirectories(images);
        try (FileLock lock = lock()) {
            Properties state = read();
            String active = state.getProperty("active", A);
            String slot = other(active);
            if (slot.equals(state.getProperty("trial"))) {
                throw new ImageException(ImageException.Kind.CONFLICT, "slot " + slot
                        + " is booted on trial now; stage a new image after the trial has ended");
            }
            if (slot.equals(runningSlot)) {
                throw new ImageException(ImageException.Kind.CONFLICT, "slot " + slot
                        + " holds the running image; stage a new image after a restart");
            }
            Path staging = images.resolve(slot + ".staging");
            try {
                deleteTree(staging);
                Files.createDirectories(staging);
                Image unpacked = ImageArchive.unpack(archive, staging, limits);
                long bytes = size(staging);
                Path target = imageDir(slot);
                try {
                    deleteTree(target);
                    Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                    deleteTree(frameworkDir(slot));
                    Files.createDirectories(frameworkDir(slot));
                } catch (IOException e) {
                    // the slot's previous image may be half gone: it must not boot as pending
                    if (slot.equals(state.getProperty("pending"))) {
                        state.remove("pending");
                        write(state);
                    }
                    throw e;
                }
                state.setProperty("pending", slot);
                state.remove("bad." + slot);
                write(state);
                return new StagedImage(slot, unpacked.version(), unpacked.role(), bytes, toState(state, installed));
            } finally {
                deleteTree(staging);
            }
        }
    }

    /** One line for the console. */
    public String describe() {
        Properties state = read();
        StringBuilder s = new StringBuilder("active slot " + state.getProperty("active", A));
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

    private SlotState toState(Properties state, Image installed) {
        Map<String, String> versions = new HashMap<>();
        Map<String, String> bad = new HashMap<>();
        for (String slot : new String[] { A, B }) {
            Path dir = imageDir(slot);
            if (Files.isDirectory(dir.resolve("bundles"))) {
                versions.put(slot, Image.load(dir.resolve("etc/image.properties")).getProperty("version", "unknown"));
            } else if (slot.equals(A) && installed != null) {
                versions.put(slot, installed.version());
            }
            String reason = state.getProperty("bad." + slot);
            if (reason != null) {
                bad.put(slot, reason);
            }
        }
        return new SlotState(state.getProperty("active", A), state.getProperty("pending"),
                state.getProperty("trial"), versions, bad);
    }

    private Properties read() {
        return Image.load(file);
    }

    private <T> T update(Function<Properties, T> change) {
        try {
            Files.createDirectories(images);
            try (FileLock lock = lock()) {
                Properties state = read();
                T result = change.apply(state);
                write(state);
                return result;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void write(Properties state) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            state.store(out, "Cairn image slots");
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * The exclusive lock on the state. Another process holding it makes {@code lock()}
     * wait; another class loader of this JVM holding it makes the JVM throw
     * {@link OverlappingFileLockException} instead, so that case polls until it is free.
     */
    private FileLock lock() throws IOException {
        long deadline = System.nanoTime() + LOCK_WAIT_MILLIS * 1_000_000;
        while (true) {
            FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                return new ChannelLock(channel, channel.lock());
            } catch (OverlappingFileLockException e) {
                channel.close();
                if (System.nanoTime() > deadline) {
                    throw new ImageException(ImageException.Kind.CONFLICT,
                            "the image slots are locked by another operation; try again later");
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    throw new ImageException(ImageException.Kind.CONFLICT, "interrupted while waiting for the slot lock");
                }
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        }
    }

    /** A lock that closes its channel with it. */
    private static final class ChannelLock extends FileLock {
        private final FileLock lock;

        ChannelLock(FileChannel channel, FileLock lock) {
            super(channel, lock.position(), lock.size(), lock.isShared());
            this.lock = lock;
        }

        @Override
        public boolean isValid() {
            return lock.isValid();
        }

        @Override
        public void release() throws IOException {
            try {
                lock.release();
            } finally {
                channel().close();
            }
        }
    }

    private static long size(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    static void deleteTree(Path root) throws IOException {
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
