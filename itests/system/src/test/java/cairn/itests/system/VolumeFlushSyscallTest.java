package cairn.itests.system;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.awaitility.Awaitility;
import org.junit.After;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import com.fasterxml.jackson.databind.JsonNode;

import cairn.itests.support.ApplianceProcess;

/**
 * What the crash test cannot see: {@code kill -9} of the appliance leaves its writes in the
 * kernel's page cache, so a FLUSH answered before the data reached the disk would pass
 * there and still lose the write when the machine loses power. Here {@code strace}
 * watches the appliance process's sync calls while an independent client (qemu-io) writes:
 * a FLUSH, and a write with FUA, are answered only after an {@code fdatasync} or
 * {@code fsync} of the volume's data file (and an {@code msync} of its changed-block map)
 * returned; a plain write does not wait for the disk.
 */
public class VolumeFlushSyscallTest {

    private static final long SIZE = 16L << 20;
    private static final String LENGTH_ANSWER = "16 MiB";
    private static final int LENGTH = 64 * 1024;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final Started started = new Started();

    @After
    public void stopEverything() throws Exception {
        started.close();
    }

    /** One traced system call: its name, the file of its descriptor (if any), when it ran, its result. */
    record Call(String name, String file, BigDecimal start, BigDecimal end, String result) {
        boolean within(Instant from, Instant to) {
            return start.compareTo(seconds(from)) >= 0 && end.compareTo(seconds(to)) <= 0;
        }

        boolean overlaps(Instant from, Instant to) {
            return end.compareTo(seconds(from)) >= 0 && start.compareTo(seconds(to)) <= 0;
        }
    }

    @Test
    public void flushAndFuaAreAnsweredOnlyAfterTheVolumeFileWasSynced() throws Exception {
        ApplianceProcess app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"),
                List.of("--nbd-tls", "off"), Map.of());
        started.add(app::stop);
        app.startAndAwaitReady();
        Api api = new Api(app.httpUrl());
        JsonNode attachment = api.createAndAttach(Api.basic("admin", app.initialAdminPassword()), "synced", SIZE,
                "sync-vm");
        String dataFile = attachment.get("volumeId").asText() + ".data";
        QemuIo io = QemuIo.plainWriteBack(attachment.get("uri").asText());
        started.add(io);
        // the first I/O of the connection, untraced
        io.mustWrite(0, LENGTH, 0x10, false);
        io.mustFlush(LENGTH_ANSWER);

        Path trace = tmp.getRoot().toPath().resolve("strace.out");
        Path log = tmp.getRoot().toPath().resolve("strace.log");
        Process strace = new ProcessBuilder("strace", "-f", "-p", Long.toString(app.process().pid()), "-e",
                "trace=fsync,fdatasync,msync,sync_file_range", "-ttt", "-T", "-yy", "-o", trace.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        started.add(() -> {
            strace.destroy();
            strace.waitFor(30, TimeUnit.SECONDS);
        });
        // strace names the threads it attached to once it has them all
        Awaitility.await("strace attached").atMost(Duration.ofSeconds(30)).until(
                () -> Files.readString(log).contains("attached") || !strace.isAlive());
        assertTrue("strace could not attach: " + Files.readString(log), strace.isAlive());

        Instant t0 = Instant.now();
        io.mustWrite(LENGTH, LENGTH, 0x21, false);
        Instant t1 = Instant.now();
        io.mustFlush(LENGTH_ANSWER);
        Instant t2 = Instant.now();
        io.mustWrite(2 * LENGTH, LENGTH, 0x32, true);
        Instant t3 = Instant.now();

        strace.destroy(); // SIGTERM: strace detaches and writes out what it has
        assertTrue("strace stopped", strace.waitFor(30, TimeUnit.SECONDS));
        List<Call> calls = parse(Files.readAllLines(trace, StandardCharsets.UTF_8));
        String all = String.join("\n", Files.readAllLines(trace, StandardCharsets.UTF_8));

        List<Call> onData = calls.stream().filter(c -> c.file().endsWith("/" + dataFile)).toList();
        assertTrue("a plain write is answered without syncing the volume file:\n" + all,
                onData.stream().noneMatch(c -> c.overlaps(t0, t1)));
        assertTrue("FLUSH is answered after an fdatasync/fsync of " + dataFile + " returned 0:\n" + all,
                onData.stream().anyMatch(c -> c.within(t1, t2) && c.result().equals("0")));
        assertTrue("FLUSH is answered after the changed-block map was synced:\n" + all,
                calls.stream().anyMatch(c -> c.name().equals("msync") && c.within(t1, t2)));
        assertTrue("a FUA write is answered after an fdatasync/fsync of " + dataFile + " returned 0:\n" + all,
                onData.stream().anyMatch(c -> c.within(t2, t3) && c.result().equals("0")));
    }

    private static final Pattern CALL = Pattern.compile(
            "^(\\d+)\\s+(\\d+\\.\\d+) (\\w+)\\((?:\\d+<([^>]*)>)?.*?(?:\\) += (-?\\w+).*<(\\d+\\.\\d+)>|<unfinished \\.\\.\\.>)$");
    private static final Pattern RESUMED = Pattern.compile(
            "^(\\d+)\\s+(\\d+\\.\\d+) <\\.\\.\\. (\\w+) resumed>.*\\) += (-?\\w+).*<(\\d+\\.\\d+)>$");

    /**
     * strace's lines: {@code PID SECONDS name(fd<path>, ...) = RESULT <DURATION>}, or, when
     * another thread's call came between, an {@code <unfinished ...>} line and a later
     * {@code <... name resumed>} line of the same thread.
     */
    static List<Call> parse(List<String> lines) {
        List<Call> calls = new ArrayList<>();
        Map<String, String[]> unfinished = new HashMap<>();
        for (String line : lines) {
            Matcher m = CALL.matcher(line);
            if (m.matches()) {
                String file = m.group(4) == null ? "" : m.group(4);
                if (m.group(5) == null) {
                    unfinished.put(m.group(1), new String[] { m.group(3), file, m.group(2) });
                } else {
                    BigDecimal start = new BigDecimal(m.group(2));
                    calls.add(new Call(m.group(3), file, start, start.add(new BigDecimal(m.group(6))), m.group(5)));
                }
                continue;
            }
            Matcher r = RESUMED.matcher(line);
            if (r.matches()) {
                String[] begun = unfinished.remove(r.group(1));
                if (begun != null && begun[0].equals(r.group(3))) {
                    calls.add(new Call(begun[0], begun[1], new BigDecimal(begun[2]), new BigDecimal(r.group(2)),
                            r.group(4)));
                }
            }
        }
        return calls;
    }

    static BigDecimal seconds(Instant t) {
        return BigDecimal.valueOf(t.getEpochSecond()).add(BigDecimal.valueOf(t.getNano(), 9));
    }

    @Test
    public void straceLinesAreRead() throws IOException {
        List<Call> calls = parse(List.of(
                "4711  1764500000.100000 fdatasync(57</data/volumes/v1.data>) = 0 <0.002500>",
                "4712  1764500000.200000 fsync(58</data/volumes/v1.data> <unfinished ...>",
                "4713  1764500000.200100 msync(0x7f0000000000, 4096, MS_SYNC) = 0 <0.000100>",
                "4712  1764500000.300000 <... fsync resumed>) = 0 <0.100000>",
                "4714  1764500000.400000 fdatasync(59</data/volumes/v1.data>) = -1 EIO (Input/output error) <0.000010>"));
        assertEquals(4, calls.size());
        assertEquals(new Call("fdatasync", "/data/volumes/v1.data", new BigDecimal("1764500000.100000"),
                new BigDecimal("1764500000.102500"), "0"), calls.get(0));
        assertEquals(new Call("msync", "", new BigDecimal("1764500000.200100"), new BigDecimal("1764500000.200200"),
                "0"), calls.get(1));
        assertEquals(new Call("fsync", "/data/volumes/v1.data", new BigDecimal("1764500000.200000"),
                new BigDecimal("1764500000.300000"), "0"), calls.get(2));
        assertEquals("-1", calls.get(3).result());
    }
}
