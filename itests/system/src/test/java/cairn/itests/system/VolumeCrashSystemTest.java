package cairn.itests.system;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;

import cairn.itests.support.ApplianceProcess;

/**
 * Crash consistency of the real appliance process: an independent NBD client (qemu-io)
 * writes with many requests in flight and FLUSHes every few writes, the appliance gets
 * SIGKILL in the middle of the run, and after a restart every write acknowledged before a
 * completed FLUSH, or sent with FUA, reads back intact while no 4 KiB sector holds bytes
 * that were never written to it.
 *
 * <p>The volume is cut into runs of 1 to 4 sectors, each written once, in a seeded random
 * order, with a byte pattern of its own (neighbours always differ); so every sector has
 * exactly one legal non-zero content. The seed is printed and can be set with
 * {@code -Dcairn.crash.seed=N} to replay a run.
 */
public class VolumeCrashSystemTest {

    private static final int SECTOR = 4096;
    private static final long SIZE = 32L << 20;
    private static final String LENGTH_ANSWER = "32 MiB";
    private static final int FLUSH_EVERY = 8;
    private static final int FUA_EVERY = 7;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final Started started = new Started();

    @After
    public void stopEverything() throws Exception {
        started.close();
    }

    /** One planned write: a run of sectors, written once with its own pattern. */
    record Write(int index, long offset, int length, int pattern, boolean fua) {
        String command() {
            return "aio_write " + (fua ? "-f " : "") + "-P " + pattern + " " + offset + " " + length;
        }
    }

    /** Cuts the volume into runs of 1..4 sectors and shuffles them; patterns 1..255 by position. */
    static List<Write> plan(Random random) {
        List<long[]> runs = new ArrayList<>();
        long sectors = SIZE / SECTOR;
        for (long s = 0; s < sectors;) {
            int n = (int) Math.min(1 + random.nextInt(4), sectors - s);
            runs.add(new long[] { s, n, 1 + runs.size() % 255 });
            s += n;
        }
        Collections.shuffle(runs, random);
        List<Write> writes = new ArrayList<>();
        for (long[] r : runs) {
            int i = writes.size();
            writes.add(new Write(i, r[0] * SECTOR, (int) r[1] * SECTOR, (int) r[2], i % FUA_EVERY == FUA_EVERY - 1));
        }
        return writes;
    }

    @Test
    public void flushedAndFuaWritesSurviveKillDashNineOfTheAppliance() throws Exception {
        long seed = Long.getLong("cairn.crash.seed", System.nanoTime());
        System.out.println("crash seed " + seed);
        Random random = new Random(seed);
        List<Write> writes = plan(random);
        int totalFlushes = writes.size() / FLUSH_EVERY;
        // Somewhere in the middle of the run: a few dozen flushes in, well before the end.
        int killAfter = 20 + random.nextInt(totalFlushes / 3);

        Path data = tmp.getRoot().toPath().resolve("data");
        ApplianceProcess app = ApplianceProcess.create(data, List.of("--nbd-tls", "off"), Map.of());
        started.add(app::kill);
        app.startAndAwaitReady();
        Api api = new Api(app.httpUrl());
        Map<String, String> admin = Api.basic("admin", app.initialAdminPassword());
        JsonNode attachment = api.createAndAttach(admin, "crash", SIZE, "crash-vm");
        String volumeId = attachment.get("volumeId").asText();

        QemuIo writer = QemuIo.plainWriteBack(attachment.get("uri").asText());
        started.add(writer);
        AtomicInteger sent = new AtomicInteger();
        Thread feeder = new Thread(() -> {
            try {
                for (Write w : writes) {
                    sent.incrementAndGet(); // counted first: a write sent before the kill is never missed
                    writer.send(w.command());
                    if ((w.index() + 1) % FLUSH_EVERY == 0) {
                        // length marks in qemu-io's output where the flush started and where it ended
                        writer.send("length");
                        writer.send("flush");
                        writer.send("length");
                    }
                }
                writer.quit(Duration.ofSeconds(60));
            } catch (IOException | InterruptedException e) {
                // qemu-io went away; the reader below sees the end of its output
            }
        }, "crash-writer");
        feeder.setDaemon(true);
        feeder.start();

        Map<Long, Write> byOffset = new HashMap<>();
        writes.forEach(w -> byOffset.put(w.offset(), w));
        List<Write> acked = new ArrayList<>();
        Set<Write> ackedSet = new HashSet<>();
        Set<Write> durable = new HashSet<>();
        int coveredByFlush = 0;
        int ackedAtFlushStart = -1;
        boolean flushFailed = false;
        int flushes = 0;
        int sentAtKill = -1;
        int ackedAtKill = -1;
        int transcriptAtKill = 0;
        String line;
        while ((line = writer.nextLine(Duration.ofSeconds(60))) != null) {
            if (line.startsWith("wrote ")) {
                long offset = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
                Write w = byOffset.get(offset);
                if (w == null) {
                    fail("qemu-io acknowledged a write nobody sent: " + line);
                }
                acked.add(w);
                ackedSet.add(w);
                if (w.fua()) {
                    durable.add(w);
                }
            } else if (line.startsWith("flush failed")) {
                flushFailed = true;
            } else if (line.equals(LENGTH_ANSWER)) {
                if (ackedAtFlushStart < 0) {
                    ackedAtFlushStart = acked.size();
                    flushFailed = false;
                } else {
                    // After the kill qemu-io may still report a FLUSH as done without asking anyone
                    // (nothing new to flush); only a flush answered while the appliance lived counts.
                    if (!flushFailed && sentAtKill < 0) {
                        // every write acknowledged before this FLUSH was sent is now durable
                        coveredByFlush = Math.max(coveredByFlush, ackedAtFlushStart);
                        flushes++;
                    }
                    ackedAtFlushStart = -1;
                    if (flushes == killAfter && sentAtKill < 0) {
                        app.kill(); // SIGKILL; the writer keeps sending
                        sentAtKill = sent.get();
                        ackedAtKill = acked.size();
                        transcriptAtKill = writer.transcript().length();
                    }
                }
            }
        }
        feeder.join(TimeUnit.SECONDS.toMillis(60));
        String afterKill = writer.transcript().substring(transcriptAtKill);
        System.out.println("qemu-io after the kill:\n" + afterKill.substring(0, Math.min(600, afterKill.length())));
        assertTrue("the appliance was killed mid-run (flushes " + flushes + " of " + totalFlushes + ", kill after "
                + killAfter + "):\n" + tail(writer.transcript()), sentAtKill > 0);
        assertEquals("the appliance died of SIGKILL", 137, app.process().exitValue());
        assertTrue("writes were still being sent when it died: " + sentAtKill + " of " + writes.size(),
                sentAtKill < writes.size());
        durable.addAll(acked.subList(0, coveredByFlush));
        assertTrue("flushed writes to check: " + coveredByFlush, coveredByFlush >= killAfter);

        // Restart on the same data; the same instance attaches again and reads the whole volume.
        ApplianceProcess again = ApplianceProcess.create(data, List.of("--nbd-tls", "off"), Map.of());
        started.add(again::stop);
        again.startAndAwaitReady();
        assertTrue(again.health().body(), blockstoreHealthy(again));
        Api api2 = new Api(again.httpUrl());
        Api.Reply reattached = api2.post("/api/v1/volumes/" + volumeId + "/attachments", admin,
                Map.of("instanceId", "crash-vm"));
        assertEquals("the attachment survived the crash: " + reattached, 200, reattached.status());
        assertEquals(attachment.get("attachmentId").asText(), reattached.json().get("attachmentId").asText());
        assertEquals(attachment.get("epoch").asLong(), reattached.json().get("epoch").asLong());
        Path copy = tmp.getRoot().toPath().resolve("after-crash.raw");
        run("nbdcopy", reattached.json().get("uri").asText(), copy.toString());
        byte[] disk = Files.readAllBytes(copy);
        assertEquals(SIZE, disk.length);

        int intact = 0;
        int lostUnflushed = 0;
        for (Write w : writes) {
            boolean mustBeThere = durable.contains(w);
            // what was sent after the appliance died never reached it
            boolean mayBeThere = w.index() < sentAtKill;
            for (long s = w.offset(); s < w.offset() + w.length(); s += SECTOR) {
                int content = sectorContent(disk, (int) s, w.pattern());
                if (content == 0) {
                    assertTrue("sector " + s / SECTOR + " lost write #" + w.index() + " acknowledged before a "
                            + "completed FLUSH" + (w.fua() ? " / with FUA" : "") + " (seed " + seed + ")", !mustBeThere);
                    lostUnflushed += ackedSet.contains(w) ? 1 : 0;
                } else if (content == 1) {
                    assertTrue("sector " + s / SECTOR + " holds write #" + w.index() + " that was never sent (seed "
                            + seed + ")", mayBeThere);
                    intact++;
                } else {
                    fail("sector " + s / SECTOR + " holds bytes never written to it (expected zeros or pattern "
                            + w.pattern() + " of write #" + w.index() + ", seed " + seed + ")");
                }
            }
        }
        System.out.printf("crash: seed %d, killed after %d flushes; %d writes sent, %d acknowledged at the kill, "
                + "%d durable checked, %d sectors hold data, %d acknowledged-but-unflushed sectors absent%n", seed,
                flushes, sentAtKill, ackedAtKill, durable.size(), intact, lostUnflushed);
        assertTrue(intact > 0);

        // The volume is usable again: the same client writes, flushes and reads back.
        try (QemuIo after = QemuIo.plain(reattached.json().get("uri").asText())) {
            Write last = writes.get(writes.size() - 1);
            after.mustWrite(last.offset(), last.length(), last.pattern(), true);
            after.mustFlush(LENGTH_ANSWER);
        }
    }

    /** 0: all zero; 1: all {@code pattern}; 2: anything else. */
    private static int sectorContent(byte[] disk, int offset, int pattern) {
        boolean zero = true;
        boolean pat = true;
        for (int i = offset; i < offset + SECTOR; i++) {
            zero &= disk[i] == 0;
            pat &= disk[i] == (byte) pattern;
        }
        return zero ? 0 : pat ? 1 : 2;
    }

    static boolean blockstoreHealthy(ApplianceProcess app) throws IOException {
        JsonNode health = Api.JSON.readTree(app.health().body());
        for (JsonNode check : health.path("checks")) {
            if (check.get("name").asText().equals("blockstore")) {
                return check.get("ok").asBoolean();
            }
        }
        return false;
    }

    private static String tail(String text) {
        return text.length() < 4000 ? text : text.substring(text.length() - 4000);
    }

    static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(String.join(" ", command) + ": " + out, 0, p.exitValue());
        return out;
    }
}
