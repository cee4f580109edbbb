package cairn.itests.osgi;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

import cairn.blockstore.api.Attachment;
import cairn.blockstore.api.Volume;
import cairn.blockstore.api.VolumeService;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;
import cairn.upgrade.api.UpgradeOutcome;
import cairn.upgrade.api.UpgradeRequest;
import cairn.upgrade.api.UpgradeResult;
import cairn.upgrade.api.UpgradeService;

/**
 * Zero-error swap under load: one qemu-io process keeps writing and verifying 64 KiB
 * blocks of an attached volume over NBD (lab mode, plaintext on loopback) while
 * cairn.blockstore, then a broken cairn.blockstore, then cairn.nbd are upgraded.
 * No I/O may fail at the client; every block reads back its last pattern at the end.
 * The longest wait of a single I/O in each phase is measured and written to
 * target/upgrade-under-load.txt (not asserted: it is a figure for bench/RESULTS.md).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class UpgradeUnderLoadTest {

    private static final int SIZE = 32 << 20;
    private static final int BLOCK = 64 << 10;
    private static final int BLOCKS = SIZE / BLOCK;
    private static final Caller OPERATOR = new Caller("itest", "acme", Role.OPERATOR, "itest");

    @Inject
    private BundleContext context;
    @Inject
    private ReadinessService readiness;
    @Inject
    private VolumeService volumes;
    @Inject
    private UpgradeService upgrades;

    @Configuration
    public Option[] config() {
        return OptionUtils.combine(RoleBundles.allInOne(RoleBundles.newDataDirectory()),
                frameworkProperty("cairn.nbd.tls").value("off"));
    }

    /** The I/O loop: write a pattern, read it back verified, remember it per block. */
    private final class Load implements Runnable {
        final QemuIoSession qemu;
        final int[] patternOf = new int[BLOCKS];
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger ops = new AtomicInteger();
        final AtomicLong windowMaxNanos = new AtomicLong();
        final List<String> failures = new ArrayList<>();

        Load(QemuIoSession qemu) {
            this.qemu = qemu;
        }

        @Override
        public void run() {
            int i = 0;
            while (!stop.get()) {
                int block = (i * 7) % BLOCKS;
                int pattern = 1 + (i % 250);
                long offset = (long) block * BLOCK;
                try {
                    step("write -P " + pattern + " " + offset + " " + BLOCK);
                    step("read -P " + pattern + " " + offset + " " + BLOCK);
                    patternOf[block] = pattern;
                } catch (IOException e) {
                    synchronized (failures) {
                        failures.add(e.toString());
                    }
                    return;
                }
                i++;
            }
        }

        private void step(String command) throws IOException {
            QemuIoSession.Reply r = qemu.run(command);
            windowMaxNanos.accumulateAndGet(r.nanos(), Math::max);
            ops.incrementAndGet();
            if (r.failed()) {
                synchronized (failures) {
                    failures.add(command + ": " + r.output().strip());
                }
            }
        }

        /** Longest single I/O since the last call, in milliseconds. */
        double takeWindowMaxMillis() {
            return windowMaxNanos.getAndSet(0) / 1e6;
        }

        void awaitMoreOps(int n) throws Exception {
            int target = ops.get() + n;
            Eventually.await(n + " more I/Os", Duration.ofSeconds(120), () -> ops.get() >= target || !failures.isEmpty());
        }
    }

    @Test
    public void blockstoreAndNbdAreSwappedWhileAClientKeepsWritingAndVerifying() throws Exception {
        // the checks of the two bundles under test; the whole appliance's readiness also
        // depends on bundles (the SSH console) that this test does not exercise
        Eventually.await("blockstore and nbd healthy", Duration.ofSeconds(90), () -> readiness.report().checks()
                .stream().filter(c -> c.name().equals("blockstore") || c.name().equals("nbd"))
                .filter(c -> c.ok()).count() == 2);
        Volume v = volumes.create(OPERATOR, "load-disk", SIZE);
        Attachment a = volumes.attach(OPERATOR, v.id(), "vm-load").attachment();
        int port = Integer.parseInt(context.getProperty("cairn.nbd.port"));
        Path work = Path.of(context.getProperty("cairn.data")).resolve("upgrade-jars");
        Files.createDirectories(work);
        List<String> report = new ArrayList<>();

        try (QemuIoSession qemu = new QemuIoSession(port, a.exportName(), 30)) {
            Load load = new Load(qemu);
            CompletableFuture<Void> loop = CompletableFuture.runAsync(load);
            load.awaitMoreOps(200);
            report.add(String.format("steady state: longest I/O %.1f ms over %d I/Os", load.takeWindowMaxMillis(),
                    load.ops.get()));

            UpgradeResult blockstore = upgrade("cairn.blockstore", higher(bundle("cairn.blockstore"), null));
            assertEquals(blockstore.toString(), UpgradeOutcome.COMMITTED, blockstore.outcome());
            load.awaitMoreOps(200);
            report.add(String.format("cairn.blockstore %s -> %s committed in %d ms: longest I/O %.1f ms",
                    blockstore.fromVersion(), blockstore.toVersion(), blockstore.durationMillis(),
                    load.takeWindowMaxMillis()));

            UpgradeResult broken = upgrade("cairn.blockstore", higher(bundle("cairn.blockstore"),
                    "cairn.blockstore.internal.MissingOnPurpose"));
            assertEquals(broken.toString(), UpgradeOutcome.ROLLED_BACK, broken.outcome());
            assertTrue(broken.reason(), broken.reason().contains("MissingOnPurpose"));
            assertEquals(blockstore.toVersion(), bundle("cairn.blockstore").getVersion().toString());
            load.awaitMoreOps(200);
            report.add(String.format("broken cairn.blockstore %s rolled back in %d ms (%s): longest I/O %.1f ms",
                    broken.toVersion(), broken.durationMillis(), broken.reason(), load.takeWindowMaxMillis()));

            UpgradeResult nbd = upgrade("cairn.nbd", higher(bundle("cairn.nbd"), null));
            assertEquals(nbd.toString(), UpgradeOutcome.COMMITTED, nbd.outcome());
            load.awaitMoreOps(200);
            report.add(String.format("cairn.nbd %s -> %s committed in %d ms: longest I/O %.1f ms (connection replaced, "
                    + "qemu reconnect-delay=30)", nbd.fromVersion(), nbd.toVersion(), nbd.durationMillis(),
                    load.takeWindowMaxMillis()));

            load.stop.set(true);
            loop.get(120, TimeUnit.SECONDS);
            synchronized (load.failures) {
                assertEquals("I/O errors at the client: " + load.failures, List.of(), load.failures);
            }
            // every block still holds the last pattern written to it
            int verified = 0;
            for (int b = 0; b < BLOCKS; b++) {
                if (load.patternOf[b] != 0) {
                    QemuIoSession.Reply r = qemu.run("read -P " + load.patternOf[b] + " " + ((long) b * BLOCK) + " "
                            + BLOCK);
                    assertTrue("block " + b + ": " + r.output(), !r.failed());
                    verified++;
                }
            }
            report.add("total " + load.ops.get() + " I/Os, 0 errors; " + verified + " blocks of 64 KiB verified after");
        }
        String text = String.join("\n", report) + "\n";
        System.out.print(text);
        Path out = Path.of(System.getProperty("user.dir"), "target", "upgrade-under-load.txt");
        Files.writeString(out, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    private UpgradeResult upgrade(String bsn, byte[] jar) {
        return upgrades.upgrade(new ByteArrayInputStream(jar), new UpgradeRequest("itest", "itest:" + bsn, false, false));
    }

    private Bundle bundle(String bsn) {
        return Arrays.stream(context.getBundles()).filter(b -> bsn.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();
    }

    /**
     * The role's jar of the bundle with its micro version above the running one; with
     * {@code missingComponentClass}, plus an immediate component whose class is not there.
     */
    private static byte[] higher(Bundle running, String missingComponentClass) throws IOException {
        Path jar = roleJar(running.getSymbolicName());
        org.osgi.framework.Version v = running.getVersion();
        String version = v.getMajor() + "." + v.getMinor() + "." + (v.getMicro() + 1)
                + (v.getQualifier().isEmpty() ? "" : "." + v.getQualifier());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarFile in = new JarFile(jar.toFile())) {
            Manifest m = new Manifest(in.getManifest());
            m.getMainAttributes().putValue("Bundle-Version", version);
            String xmlName = null;
            if (missingComponentClass != null) {
                xmlName = "OSGI-INF/" + missingComponentClass + ".xml";
                String sc = m.getMainAttributes().getValue("Service-Component");
                m.getMainAttributes().putValue("Service-Component", sc == null ? xmlName : sc + "," + xmlName);
            }
            try (JarOutputStream out = new JarOutputStream(bytes, m)) {
                Enumeration<JarEntry> entries = in.entries();
                while (entries.hasMoreElements()) {
                    JarEntry e = entries.nextElement();
                    if (e.getName().equalsIgnoreCase("META-INF/MANIFEST.MF")) {
                        continue;
                    }
                    out.putNextEntry(new JarEntry(e.getName()));
                    try (InputStream data = in.getInputStream(e)) {
                        data.transferTo(out);
                    }
                    out.closeEntry();
                }
                if (xmlName != null) {
                    out.putNextEntry(new JarEntry(xmlName));
                    out.write(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                            + "<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\" name=\""
                            + missingComponentClass + "\" immediate=\"true\">\n  <implementation class=\""
                            + missingComponentClass + "\"/>\n</scr:component>\n").getBytes(StandardCharsets.UTF_8));
                    out.closeEntry();
                }
            }
        }
        return bytes.toByteArray();
    }

    private static Path roleJar(String bsn) throws IOException {
        try (Stream<Path> s = Files.list(Path.of(System.getProperty("cairn.bundles")))) {
            for (Path p : s.filter(f -> f.toString().endsWith(".jar")).toList()) {
                if (bsn.equals(RoleBundles.symbolicName(p))) {
                    return p;
                }
            }
        }
        throw new IllegalStateException("no " + bsn + " among the role's bundles");
    }
}
