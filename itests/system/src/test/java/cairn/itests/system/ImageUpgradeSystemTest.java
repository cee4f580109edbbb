package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import cairn.itests.support.ApplianceProcess;

/**
 * Firmware-style image upgrade with two built images: {@code cairn upgrade IMAGE.tar.gz}
 * stages a new image in the inactive slot, the next start boots it on trial and keeps
 * it once healthy; a broken image (a required bundle removed) is not healthy in time,
 * is marked bad, and the following start boots the previous slot. The data directory's
 * state (identity, password file, database) is shared and survives every switch.
 */
public class ImageUpgradeSystemTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void aNewImageBootsOnTrialAndABrokenOneFallsBackToThePreviousSlot() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path data = work.resolve("data");
        String installedVersion = imageVersion(ApplianceProcess.image());
        Path next = buildImage(work, "next", "0.9.0-next", false);
        Path broken = buildImage(work, "broken", "0.9.1-broken", true);

        String password;
        try (ApplianceProcess first = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertThat(first.consoleText(), containsString("launcher " + installedVersion + " booting image "
                    + installedVersion + " from slot a"));
            password = first.initialAdminPassword();
            assertEquals(0, first.stop());
        }

        assertThat(cairn("upgrade", next.toString(), "--data", data.toString()), containsString("in slot b"));
        assertEquals("b", slots(data).getProperty("pending"));

        int mark = console(data).length();
        try (ApplianceProcess trial = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            await().atMost(Duration.ofSeconds(60)).until(() -> console(data).substring(mark)
                    .contains("image 0.9.0-next in slot b is healthy"));
            assertThat(console(data).substring(mark), containsString("booting the new image in slot b on trial"));
            // the staged image's own launcher (its lib/ says 0.9.0-next) booted it, not the installed one
            assertThat(console(data).substring(mark),
                    containsString("launcher 0.9.0-next booting image 0.9.0-next from slot b"));
            assertEquals("b", slots(data).getProperty("active"));
            // the installed launcher holds the data directory lock while the slot's launcher runs
            CommandResult second = run(List.of(ApplianceProcess.image().resolve("bin/cairn").toString(), "run",
                    "--data", data.toString(), "--bind", "127.0.0.1"));
            assertEquals(second.output, 3, second.exit);
            assertThat(second.output, containsString("is in use by another appliance"));
            assertEquals("the database and the first-boot password are shared", password, trial.initialAdminPassword());
            assertTrue(Files.isDirectory(data.resolve("framework/b")));
            assertEquals(0, trial.stop());
        }

        assertThat(cairn("upgrade", broken.toString(), "--data", data.toString()), containsString("in slot a"));
        int mark2 = console(data).length();
        ApplianceProcess bad = ApplianceProcess.create(data, List.of(), Map.of("CAIRN_JAVA_OPTS",
                "-Xms32m -Xmx1g -XX:+UseSerialGC -Dcairn.image.healthTimeoutSeconds=20"));
        try (bad) {
            bad.start();
            assertEquals("a trial that is not healthy in time stops the appliance", 1, bad.awaitExit(Duration.ofSeconds(180)));
            String out = console(data).substring(mark2);
            assertThat(out, containsString("booting image 0.9.1-broken from slot a"));
            assertThat(out, containsString("was not healthy within 20 s; the next start boots slot b again"));
            assertTrue(slots(data).getProperty("bad.a") != null);
        }

        int mark3 = console(data).length();
        try (ApplianceProcess back = ApplianceProcess.create(data, List.of(), Map.of()).startAndAwaitReady()) {
            assertThat(console(data).substring(mark3), containsString("booting image 0.9.0-next from slot b"));
            assertEquals("b", slots(data).getProperty("active"));
            assertEquals(password, back.initialAdminPassword());
            assertEquals(0, back.stop());
        }
    }

    @Test
    public void somethingThatIsNotAnImageIsRefusedAndChangesNothing() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path data = work.resolve("data");
        Path junk = work.resolve("junk.tar.gz");
        Files.writeString(junk, "not an archive");
        CommandResult r = run(List.of(ApplianceProcess.image().resolve("bin/cairn").toString(), "upgrade", junk.toString(),
                "--data", data.toString()));
        assertEquals(r.output, 2, r.exit);
        assertThat(r.output, containsString("not a .tar.gz image archive"));
        assertTrue("no slot state was written", !Files.exists(data.resolve("images/slots.properties")));
    }

    /**
     * Unpacks the built image's archive, gives it another version (the image's and its
     * launcher's own) and packs it again.
     */
    static Path buildImage(Path work, String name, String version, boolean removePlatform) throws Exception {
        Path archive = ApplianceProcess.image().resolveSibling("cairn.tar.gz");
        Path dir = work.resolve("images/" + name);
        Files.createDirectories(dir);
        run(List.of("tar", "-xzf", archive.toString(), "-C", dir.toString()));
        Path props = dir.resolve("etc/image.properties");
        String text = Files.readString(props).replaceAll("(?m)^version=.*$", "version=" + version);
        Files.writeString(props, text);
        try (Stream<Path> s = Files.list(dir.resolve("lib"))) {
            for (Path jar : s.filter(f -> f.getFileName().toString().startsWith("cairn.launcher-")).toList()) {
                relabelLauncher(jar, version);
            }
        }
        if (removePlatform) {
            try (Stream<Path> s = Files.list(dir.resolve("bundles"))) {
                for (Path p : s.filter(f -> f.getFileName().toString().startsWith("cairn.platform-")).toList()) {
                    Files.delete(p);
                }
            }
        }
        Path out = work.resolve(name + ".tar.gz");
        run(List.of("tar", "-czf", out.toString(), "-C", dir.toString(), "."));
        return out;
    }

    /** Rewrites the launcher jar's own version (cairn/launcher/launcher.properties). */
    private static void relabelLauncher(Path jar, String version) throws IOException {
        Path copy = jar.resolveSibling(jar.getFileName() + ".new");
        try (JarFile in = new JarFile(jar.toFile());
                JarOutputStream out = new JarOutputStream(Files.newOutputStream(copy), in.getManifest())) {
            Enumeration<JarEntry> entries = in.entries();
            while (entries.hasMoreElements()) {
                JarEntry e = entries.nextElement();
                if (e.getName().equalsIgnoreCase("META-INF/MANIFEST.MF")) {
                    continue;
                }
                out.putNextEntry(new JarEntry(e.getName()));
                if (e.getName().equals("cairn/launcher/launcher.properties")) {
                    out.write(("version=" + version + "\n").getBytes(StandardCharsets.UTF_8));
                } else {
                    try (InputStream data = in.getInputStream(e)) {
                        data.transferTo(out);
                    }
                }
                out.closeEntry();
            }
        }
        Files.move(copy, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static String imageVersion(Path image) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(image.resolve("etc/image.properties"))) {
            p.load(in);
        }
        return p.getProperty("version");
    }

    private static Properties slots(Path data) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(data.resolve("images/slots.properties"))) {
            p.load(in);
        }
        return p;
    }

    private static String console(Path data) throws IOException {
        Path log = data.resolveSibling(data.getFileName() + "-console.log");
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }

    private static String cairn(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ApplianceProcess.image().resolve("bin/cairn").toString()));
        cmd.addAll(List.of(args));
        CommandResult r = run(cmd);
        assertEquals(r.output, 0, r.exit);
        return r.output;
    }

    record CommandResult(int exit, String output) {
    }

    static CommandResult run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(cmd + " timed out");
        }
        return new CommandResult(p.exitValue(), out);
    }
}
