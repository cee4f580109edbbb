package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;

import cairn.itests.support.ApplianceProcess;
import cairn.itests.support.QemuIoSession;
import cairn.itests.support.UpgradeJars;

/**
 * Zero-error swap under load, against the appliance process: {@code bin/cairn run} in
 * lab mode (plaintext NBD on loopback), a volume created and attached through REST, and
 * one long-lived {@code qemu-io} ({@code reconnect-delay}) writing 64 KiB blocks and
 * reading each back verified, without pause, while REST {@code POST /api/v1/upgrades}
 * swaps {@code cairn.blockstore} for a rebuilt higher version, then tries a broken
 * {@code cairn.blockstore} (a component that throws on activation: rolled back), then swaps
 * {@code cairn.nbd} (the connection is replaced; qemu reconnects). No I/O may fail at the
 * client, and every block reads back its last pattern afterwards. The longest wait of a
 * single I/O per phase is logged and written to {@code target/upgrade-under-load.txt}
 * for bench/RESULTS.md, not asserted.
 */
public class UpgradeUnderLoadSystemTest {

    private static final int SIZE = 32 << 20;
    private static final int BLOCK = 64 << 10;
    private static final int BLOCKS = SIZE / BLOCK;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    /** The I/O loop: write a pattern, read it back verified, remember it per block. */
    private static final class Load implements Runnable {
        final QemuIoSession qemu;
        final int[] patternOf = new int[BLOCKS];
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicInteger ops = new AtomicInteger();
        final AtomicLong windowMaxNanos = new AtomicLong();
        /** When the longest I/O of the window began (System.nanoTime), to place it against the swap. */
        volatile long windowMaxStartedAt;
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
                    if (!step("write -P " + pattern + " " + offset + " " + BLOCK)
                            || !step("read -P " + pattern + " " + offset + " " + BLOCK)) {
                        return;
                    }
                    patternOf[block] = pattern;
                } catch (IOException e) {
                    fail(e.toString());
                    return;
                }
                i++;
            }
        }

        private boolean step(String command) throws IOException {
            long startedAt = System.nanoTime();
            QemuIoSession.Reply r = qemu.run(command);
            if (r.nanos() > windowMaxNanos.get()) {
                // only this loop's thread writes the maximum between two takes
                windowMaxNanos.set(r.nanos());
                windowMaxStartedAt = startedAt;
            }
            ops.incrementAndGet();
            if (r.failed()) {
                fail(command + ": " + r.output().strip());
                return false;
            }
            return true;
        }

        private void fail(String what) {
            synchronized (failures) {
                failures.add(what);
            }
        }

        boolean failed() {
            synchronized (failures) {
                return !failures.isEmpty();
            }
        }

        /** Longest single I/O since the last call, in milliseconds. */
        double takeWindowMaxMillis() {
            return windowMaxNanos.getAndSet(0) / 1e6;
        }

        /** Where the window's longest I/O began, in ms after {@code origin} (a System.nanoTime). */
        long maxStartedMillisAfter(long origin) {
            return (windowMaxStartedAt - origin) / 1_000_000;
        }

        void awaitMoreOps(int n) {
            int target = ops.get() + n;
            await().atMost(Duration.ofSeconds(180)).until(() -> ops.get() >= target || failed());
        }
    }

    @Test
    public void blockstoreAndNbdAreSwappedThroughRestWhileAClientKeepsWritingAndVerifying() throws Exception {
        Path work = tmp.getRoot().toPath();
        Path blockstoreJar = UpgradeJars.imageJar("cairn.blockstore");
        Path nbdJar = UpgradeJars.imageJar("cairn.nbd");
        String blockstoreHigher = UpgradeJars.higher(UpgradeJars.version(blockstoreJar));
        Path blockstoreUp = UpgradeJars.withVersion(blockstoreJar, blockstoreHigher, work.resolve("jars/blockstore.jar"));
        Path blockstoreBroken = UpgradeJars.withFailingComponent(blockstoreJar, UpgradeJars.higher(blockstoreHigher),
                "cairn.blockstore.internal", work.resolve("broken"), work.resolve("jars/blockstore-broken.jar"));
        Path nbdUp = UpgradeJars.withVersion(nbdJar, UpgradeJars.higher(UpgradeJars.version(nbdJar)),
                work.resolve("jars/nbd.jar"));
        List<String> report = new ArrayList<>();

        try (ApplianceProcess app = ApplianceProcess.create(work.resolve("data"), List.of("--nbd-tls", "off"), Map.of())
                .startAndAwaitReady()) {
            Api api = new Api(app.httpUrl());
            Map<String, String> admin = Api.basic("admin", app.initialAdminPassword());
            JsonNode attachment = api.createAndAttach(admin, "load-disk", SIZE, "vm-load");
            // lab mode: nbd://host:port/<export name>
            String export = URI.create(attachment.get("uri").asText()).getPath().substring(1);

            try (QemuIoSession qemu = new QemuIoSession(app.port("nbd"), export, 30)) {
                Load load = new Load(qemu);
                CompletableFuture<Void> loop = CompletableFuture.runAsync(load);
                load.awaitMoreOps(200);
                report.add(String.format("steady state: longest I/O %.1f ms over %d I/Os", load.takeWindowMaxMillis(),
                        load.ops.get()));

                long t0 = System.nanoTime();
                JsonNode blockstore = upgrade(app, blockstoreUp);
                assertEquals(blockstore.toString(), "COMMITTED", blockstore.get("outcome").asText());
                load.awaitMoreOps(200);
                long at = load.maxStartedMillisAfter(t0);
                report.add(String.format("cairn.blockstore %s -> %s committed in %d ms: longest I/O %.1f ms, "
                        + "began %d ms after the REST call", blockstore.get("fromVersion").asText(),
                        blockstore.get("toVersion").asText(), blockstore.get("durationMillis").asLong(),
                        load.takeWindowMaxMillis(), at));

                t0 = System.nanoTime();
                JsonNode broken = upgrade(app, blockstoreBroken);
                assertEquals(broken.toString(), "ROLLED_BACK", broken.get("outcome").asText());
                assertTrue(broken.toString(), broken.get("reason").asText().contains("BrokenOnPurpose"));
                assertEquals(blockstoreHigher, broken.get("runningVersion").asText());
                load.awaitMoreOps(200);
                at = load.maxStartedMillisAfter(t0);
                report.add(String.format("broken cairn.blockstore %s rolled back in %d ms (%s): longest I/O %.1f ms, "
                        + "began %d ms after the REST call", broken.get("toVersion").asText(),
                        broken.get("durationMillis").asLong(), broken.get("reason").asText(),
                        load.takeWindowMaxMillis(), at));

                t0 = System.nanoTime();
                JsonNode nbd = upgrade(app, nbdUp);
                assertEquals(nbd.toString(), "COMMITTED", nbd.get("outcome").asText());
                load.awaitMoreOps(200);
                at = load.maxStartedMillisAfter(t0);
                report.add(String.format("cairn.nbd %s -> %s committed in %d ms: longest I/O %.1f ms, began %d ms "
                        + "after the REST call (connection replaced, qemu reconnect-delay=30)",
                        nbd.get("fromVersion").asText(), nbd.get("toVersion").asText(),
                        nbd.get("durationMillis").asLong(), load.takeWindowMaxMillis(), at));

                load.stop.set(true);
                loop.get(180, TimeUnit.SECONDS);
                synchronized (load.failures) {
                    assertEquals("I/O errors at the client: " + load.failures, List.of(), load.failures);
                }
                int verified = 0;
                for (int b = 0; b < BLOCKS; b++) {
                    if (load.patternOf[b] != 0) {
                        QemuIoSession.Reply r = qemu.run("read -P " + load.patternOf[b] + " " + ((long) b * BLOCK) + " "
                                + BLOCK);
                        assertTrue("block " + b + ": " + r.output(), !r.failed());
                        verified++;
                    }
                }
                assertTrue("the load touched the volume", verified > 0);
                report.add("total " + load.ops.get() + " I/Os, 0 errors; " + verified
                        + " blocks of 64 KiB verified after");
            }

            JsonNode history = api.get("/api/v1/upgrades?bundle=cairn.blockstore", admin).json();
            assertEquals(history.toString(), "ROLLED_BACK", history.get(0).get("outcome").asText());
            assertTrue(history.toString(), history.get(0).get("reason").asText().contains("BrokenOnPurpose"));
            assertEquals(0, app.stop());
        }
        String text = String.join("\n", report) + "\n";
        System.out.print(text);
        Path out = Path.of(System.getProperty("user.dir"), "target", "upgrade-under-load.txt");
        Files.writeString(out, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING);
    }

    /** REST upload of the jar; the answer is the upgrade's result, committed or rolled back. */
    private static JsonNode upgrade(ApplianceProcess app, Path jar) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(app.httpUrl() + "/api/v1/upgrades"))
                .timeout(Duration.ofSeconds(300)).POST(HttpRequest.BodyPublishers.ofFile(jar))
                .header("Content-Type", "application/java-archive");
        Api.basic("admin", app.initialAdminPassword()).forEach(b::header);
        HttpResponse<String> r = HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(r.body(), 200, r.statusCode());
        return Api.JSON.readTree(r.body());
    }
}
