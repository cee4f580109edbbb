package cairn.blockstore.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.derby.jdbc.EmbeddedDataSource;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * A writer process is killed with SIGKILL in the middle of its run; afterwards every write
 * acknowledged before a completed flush reads back (or a later write to the same slot does),
 * no slot holds bytes that were never written to it, and every block that holds data is in
 * the changed-block record.
 */
public class CrashConsistencyTest {

    private static final long SIZE = 16L << 20;
    private static final long SEED = 20261130;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void flushedWritesSurviveKillDashNine() throws Exception {
        Path dir = tmp.newFolder("crash").toPath();
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        Process writer = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                classpath, CrashWriter.class.getName(), dir.toString(), Long.toString(SIZE), Long.toString(SEED))
                .redirectError(dir.resolve("writer.err").toFile()).start();
        AtomicLong flushed = new AtomicLong();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(writer.getInputStream(),
                StandardCharsets.US_ASCII))) {
            String line;
            // Kill somewhere in the middle: after several hundred acknowledged flushes.
            long killAfter = 300 + new Random().nextInt(700);
            while ((line = out.readLine()) != null) {
                if (line.startsWith("FLUSHED ")) {
                    flushed.set(Long.parseLong(line.substring(8)));
                    if (flushed.get() >= killAfter * CrashWriter.FLUSH_EVERY) {
                        writer.destroyForcibly();
                        break;
                    }
                }
            }
        } finally {
            writer.destroyForcibly();
            assertTrue(writer.waitFor(30, TimeUnit.SECONDS));
        }
        assertTrue("the writer got going: " + java.nio.file.Files.readString(dir.resolve("writer.err")),
                flushed.get() > 0);
        assertEquals("killed by SIGKILL", 137, writer.exitValue());

        EmbeddedDataSource ds = CrashWriter.dataSource(dir);
        Store store = new Store(ds);
        long slots = SIZE / CrashWriter.SLOT;
        // Replay the writer's choices: for each slot, its writes in order.
        Random choice = new Random(SEED);
        long[] lastFlushedSeq = new long[(int) slots];
        long horizon = flushed.get() + 100_000;
        long[] slotOf = new long[(int) horizon + 1];
        for (long seq = 1; seq <= horizon; seq++) {
            long slot = choice.nextInt((int) slots);
            slotOf[(int) seq] = slot;
            if (seq <= flushed.get()) {
                lastFlushedSeq[(int) slot] = seq;
            }
        }
        try (VolumeFile v = VolumeFile.open(dir.resolve("volumes"), "vol-crash", SIZE, 1, store, new MappedData.Budget(0))) {
            Set<Long> changed = new HashSet<>();
            Arrays.stream(store.changedAfter("vol-crash", 0)).forEach(changed::add);
            ByteBuffer got = ByteBuffer.allocate(CrashWriter.SLOT);
            ByteBuffer want = ByteBuffer.allocate(CrashWriter.SLOT);
            int intact = 0;
            for (long slot = 0; slot < slots; slot++) {
                got.clear();
                v.read(slot * CrashWriter.SLOT, got);
                long seq = got.getLong(0);
                if (seq == 0 && isZero(got)) {
                    assertEquals("slot " + slot + " lost its flushed write " + lastFlushedSeq[(int) slot], 0,
                            lastFlushedSeq[(int) slot]);
                    continue;
                }
                if (seq < 1 || seq > horizon || slotOf[(int) seq] != slot || got.getLong(8) != slot) {
                    fail("slot " + slot + " holds bytes never written to it (seq " + seq + ")");
                }
                want.clear();
                CrashWriter.record(seq, slot, want);
                assertTrue("slot " + slot + " holds a torn record " + seq, Arrays.equals(want.array(), got.array()));
                assertTrue("slot " + slot + " went back to " + seq + " before its flushed " + lastFlushedSeq[(int) slot],
                        seq >= lastFlushedSeq[(int) slot]);
                assertTrue("block of slot " + slot + " missing from the changed blocks",
                        changed.contains(slot * CrashWriter.SLOT / VolumeFile.BLOCK));
                intact++;
            }
            assertTrue(intact > 1000);
            System.out.println("crash test: " + flushed.get() + " writes flushed before SIGKILL, " + intact
                    + " slots verified, " + changed.size() + " changed blocks recorded");
        }
        List.of(ds).forEach(d -> d.setShutdownDatabase("shutdown"));
        assertTrue(new File(dir.toFile(), "db").isDirectory());
    }

    private static boolean isZero(ByteBuffer b) {
        for (int i = 0; i < b.capacity(); i++) {
            if (b.get(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
