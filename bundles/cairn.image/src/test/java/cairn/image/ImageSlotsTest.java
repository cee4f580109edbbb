package cairn.image;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.io.InputStream;
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

import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Staging with archives made by GNU tar: a good image lands in the inactive slot; every
 * kind of bad archive is refused with a message naming the fault and leaves the slots,
 * the slot folders and the framework storage exactly as they were.
 */
public class ImageSlotsTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private Path work;
    private Path data;
    private Image installed;

    @Before
    public void setUp() throws Exception {
        work = tmp.getRoot().toPath();
        data = work.resolve("data");
        Files.createDirectories(data);
        Path home = image(work.resolve("installed"), "1.0.0");
        installed = Image.at(home);
    }

    @Test
    public void aGoodImageIsStagedInTheInactiveSlotAndBootsOnTrial() throws Exception {
        Path archive = tarGz(image(work.resolve("next"), "1.1.0"), "next.tar.gz");
        ImageSlots slots = ImageSlots.of(data);
        StagedImage staged = stage(slots, archive, null);
        assertEquals("b", staged.slot());
        assertEquals("1.1.0", staged.version());
        assertEquals("b", staged.state().pending());
        assertEquals("1.0.0", staged.state().versions().get("a"));
        assertEquals("1.1.0", staged.state().versions().get("b"));
        assertTrue("bin/cairn keeps its execute bit", Files.isExecutable(slots.imageDir("b").resolve("bin/cairn")));
        assertTrue(Files.isDirectory(slots.frameworkDir("b")));

        ImageSlots.Boot boot = slots.chooseBoot(installed);
        assertEquals("b", boot.slot());
        assertTrue(boot.trial());
        assertEquals("1.1.0", boot.image().version());
        try {
            stage(slots, archive, null);
            fail("staging over a slot on trial must be refused");
        } catch (ImageException e) {
            assertEquals(ImageException.Kind.CONFLICT, e.kind());
            assertTrue(e.getMessage(), e.getMessage().contains("on trial"));
        }
        slots.commit("b");
        assertEquals("b", slots.active());
        assertNull(slots.state(installed).pending());
        assertEquals("a", stage(slots, archive, null).slot());
    }

    @Test
    public void stagingNeverReplacesTheRunningSlot() throws Exception {
        Path archive = tarGz(image(work.resolve("next"), "1.1.0"), "next.tar.gz");
        ImageSlots slots = ImageSlots.of(data);
        try {
            stage(slots, archive, "b");
            fail("the running slot must not be replaced");
        } catch (ImageException e) {
            assertEquals(ImageException.Kind.CONFLICT, e.kind());
        }
        assertFalse(Files.exists(slots.imageDir("b")));
    }

    @Test
    public void notAGzipIsRefused() throws Exception {
        Path junk = work.resolve("junk.tar.gz");
        Files.writeString(junk, "this is not an archive");
        refused(junk, "not a .tar.gz");
    }

    @Test
    public void aGzipThatHoldsNoTarIsRefused() throws Exception {
        Path text = work.resolve("text");
        Files.writeString(text, "x".repeat(4096));
        run("gzip", "-k", text.toString());
        refused(work.resolve("text.gz"), "not a tar archive");
    }

    @Test
    public void anArchiveWithoutBinCairnIsRefused() throws Exception {
        Path dir = image(work.resolve("nobin"), "1.1.0");
        Files.delete(dir.resolve("bin/cairn"));
        refused(tarGz(dir, "nobin.tar.gz"), "no bin/cairn");
    }

    @Test
    public void anArchiveWithoutBundlesIsRefused() throws Exception {
        Path dir = image(work.resolve("nobundles"), "1.1.0");
        for (Path p : Files.list(dir.resolve("bundles")).toList()) {
            Files.delete(p);
        }
        refused(tarGz(dir, "nobundles.tar.gz"), "no bundles");
    }

    @Test
    public void anArchiveWithoutLauncherIsRefused() throws Exception {
        Path dir = image(work.resolve("nolib"), "1.1.0");
        Files.delete(dir.resolve("lib/cairn.launcher.jar"));
        refused(tarGz(dir, "nolib.tar.gz"), "no launcher");
    }

    @Test
    public void aParentTraversalEntryIsRefusedAndNothingIsWrittenOutside() throws Exception {
        Path dir = image(work.resolve("climb"), "1.1.0");
        Files.writeString(work.resolve("evil"), "outside");
        Path archive = work.resolve("climb.tar.gz");
        // -P keeps "../" in the member name, as a hostile archive would carry it
        run("tar", "-czPf", archive.toString(), "-C", dir.toString(), "bin", "etc", "bundles", "lib", "../evil");
        Files.delete(work.resolve("evil"));
        refused(archive, "climbs out of the image");
        assertFalse(Files.exists(work.resolve("evil")));
        assertFalse(Files.exists(data.resolve("evil")));
    }

    @Test
    public void anAbsolutePathIsRefused() throws Exception {
        Path dir = image(work.resolve("abs"), "1.1.0");
        Path archive = work.resolve("abs.tar.gz");
        Path outside = work.resolve("planted");
        Files.writeString(outside, "x");
        run("tar", "-czPf", archive.toString(), "-C", dir.toString(), "bin", "etc", "bundles", "lib", outside.toString());
        Files.delete(outside);
        refused(archive, "absolute path");
        assertFalse(Files.exists(outside));
    }

    @Test
    public void aSymbolicLinkIsRefused() throws Exception {
        Path dir = image(work.resolve("link"), "1.1.0");
        Files.createSymbolicLink(dir.resolve("bundles/escape"), work);
        refused(tarGz(dir, "link.tar.gz"), "symbolic link");
    }

    @Test
    public void aHardLinkIsRefused() throws Exception {
        Path dir = image(work.resolve("hard"), "1.1.0");
        Files.createLink(dir.resolve("etc/again.properties"), dir.resolve("etc/image.properties"));
        refused(tarGz(dir, "hard.tar.gz"), "hard link");
    }

    @Test
    public void anArchiveOverTheSizeLimitIsRefused() throws Exception {
        Path dir = image(work.resolve("big"), "1.1.0");
        Files.write(dir.resolve("bundles/filler.bin"), new byte[256 << 10]);
        Path archive = tarGz(dir, "big.tar.gz");
        ImageSlots slots = ImageSlots.of(data);
        try (InputStream in = Files.newInputStream(archive)) {
            slots.stage(in, new ImageArchive.Limits(128 << 10, 1000), null, installed);
            fail("an image over the limit must be refused");
        } catch (ImageException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("too large"));
        }
        assertNothingChanged(slots);
    }

    @Test
    public void aTruncatedArchiveIsRefused() throws Exception {
        Path archive = tarGz(image(work.resolve("cut"), "1.1.0"), "cut.tar.gz");
        byte[] all = Files.readAllBytes(archive);
        Path cut = work.resolve("cut-short.tar.gz");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        refused(cut, "");
    }

    @Test
    public void aRefusalKeepsAPreviouslyStagedImage() throws Exception {
        ImageSlots slots = ImageSlots.of(data);
        stage(slots, tarGz(image(work.resolve("next"), "1.1.0"), "next.tar.gz"), null);
        String before = Files.readString(data.resolve("images/slots.properties"));
        Path dir = image(work.resolve("link"), "1.2.0");
        Files.createSymbolicLink(dir.resolve("bundles/escape"), work);
        try {
            stage(slots, tarGz(dir, "link.tar.gz"), null);
            fail();
        } catch (ImageException e) {
            assertEquals(ImageException.Kind.INVALID, e.kind());
        }
        assertEquals(before, Files.readString(data.resolve("images/slots.properties")));
        assertEquals("1.1.0", Image.at(slots.imageDir("b")).version());
        assertFalse(Files.exists(data.resolve("images/b.staging")));
    }

    @Test
    public void twoWritersInOneJvmTakeTurns() throws Exception {
        // the launcher and cairn.upgrade load this class through different class loaders;
        // two instances model that: each update must see the other's
        ImageSlots one = ImageSlots.of(data);
        ImageSlots two = ImageSlots.of(data);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            ImageSlots s = t % 2 == 0 ? one : two;
            String slot = t % 2 == 0 ? "a" : "b";
            threads.add(new Thread(() -> {
                for (int i = 0; i < 50; i++) {
                    s.markBad(slot, "reason " + i);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join(60_000);
        }
        SlotState state = one.state(installed);
        assertEquals("reason 49", state.bad().get("a"));
        assertEquals("reason 49", state.bad().get("b"));
    }

    private StagedImage stage(ImageSlots slots, Path archive, String running) throws IOException {
        try (InputStream in = Files.newInputStream(archive)) {
            return slots.stage(in, ImageArchive.Limits.DEFAULT, running, installed);
        }
    }

    private void refused(Path archive, String why) throws Exception {
        ImageSlots slots = ImageSlots.of(data);
        try {
            stage(slots, archive, null);
            fail("staging " + archive.getFileName() + " must be refused");
        } catch (ImageException e) {
            assertEquals(e.getMessage(), ImageException.Kind.INVALID, e.kind());
            assertTrue(e.getMessage(), e.getMessage().contains(why));
        }
        assertNothingChanged(slots);
    }

    private void assertNothingChanged(ImageSlots slots) throws IOException {
        assertFalse("no slot state written", Files.exists(data.resolve("images/slots.properties")));
        assertFalse(Files.exists(slots.imageDir("b")));
        assertFalse(Files.exists(data.resolve("images/b.staging")));
        assertFalse(Files.exists(slots.frameworkDir("b")));
    }

    /** A minimal image tree: bin/cairn, etc/image.properties, one bundle, a launcher jar. */
    static Path image(Path dir, String version) throws IOException {
        Files.createDirectories(dir.resolve("bin"));
        Files.createDirectories(dir.resolve("etc"));
        Files.createDirectories(dir.resolve("bundles"));
        Files.createDirectories(dir.resolve("lib"));
        Path cairn = dir.resolve("bin/cairn");
        Files.writeString(cairn, "#!/bin/sh\n");
        cairn.toFile().setExecutable(true);
        Files.writeString(dir.resolve("etc/image.properties"), "version=" + version + "\nrole=all-in-one\n");
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().putValue("Bundle-SymbolicName", "test.bundle");
        try (OutputStream os = Files.newOutputStream(dir.resolve("bundles/test.bundle.jar"));
                JarOutputStream out = new JarOutputStream(os, m)) {
            out.putNextEntry(new JarEntry("test/Thing.txt"));
            out.write("thing".getBytes(StandardCharsets.UTF_8));
        }
        try (OutputStream os = Files.newOutputStream(dir.resolve("lib/cairn.launcher.jar"));
                JarOutputStream out = new JarOutputStream(os, m)) {
            out.putNextEntry(new JarEntry("cairn/launcher/Main.class"));
            out.write(new byte[] { (byte) 0xca, (byte) 0xfe });
        }
        return dir;
    }

    private Path tarGz(Path dir, String name) throws Exception {
        Path archive = work.resolve(name);
        run("tar", "-czf", archive.toString(), "-C", dir.toString(), ".");
        return archive;
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", cmd) + ": " + out);
        }
    }
}
