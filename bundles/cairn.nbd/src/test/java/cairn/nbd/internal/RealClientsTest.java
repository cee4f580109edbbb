package cairn.nbd.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The protocol layer against the real NBD clients (qemu-img, qemu-io, nbdinfo, nbdcopy,
 * fio), over TCP and the unix socket, with a file as the export. The same clients run
 * against the real engine in the integration tests.
 */
public class RealClientsTest {

    static final int SIZE = 64 << 20;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    FileCatalog catalog;
    NbdServer server;
    Path volume;
    Path socket;
    String uri;

    @Before
    public void start() throws IOException {
        assumeTrue("qemu-utils, libnbd-bin and fio are installed (itests/packages-nbd.txt)",
                Files.isExecutable(Path.of("/usr/bin/qemu-img")) && Files.isExecutable(Path.of("/usr/bin/nbdinfo"))
                        && Files.isExecutable(Path.of("/usr/bin/fio")));
        volume = tmp.newFile("vol").toPath();
        try (var f = java.nio.channels.FileChannel.open(volume, java.nio.file.StandardOpenOption.WRITE)) {
            f.truncate(SIZE);
            f.write(java.nio.ByteBuffer.wrap(new byte[] { 0 }), SIZE - 1);
        }
        catalog = new FileCatalog();
        catalog.files.put("e-7f3a9c", volume);
        socket = tmp.getRoot().toPath().resolve("run/nbd.sock");
        server = new NbdServer(new NbdServer.Settings(new InetSocketAddress("127.0.0.1", 0), socket, null,
                new Limits(1, 4096, 32 << 20, 4, 64, 64 << 20), 5000, 64), catalog, new ServerState());
        server.start();
        uri = "nbd://127.0.0.1:" + server.port() + "/e-7f3a9c";
    }

    @After
    public void stop() {
        if (server != null) {
            server.stop(1000);
        }
    }

    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(String.join(" ", command) + " timed out", p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(String.join(" ", command) + " failed:\n" + out, 0, p.exitValue());
        return out;
    }

    static int exit(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return p.exitValue();
    }

    @Test
    public void nbdinfoShowsSizeAndFlags() throws Exception {
        String json = run("nbdinfo", "--json", uri);
        assertTrue(json, json.contains("\"export-size\": " + SIZE));
        assertTrue(json, json.contains("\"can_flush\": true"));
        assertTrue(json, json.contains("\"can_fua\": true"));
        assertTrue(json, json.contains("\"can_trim\": true"));
        assertTrue(json, json.contains("\"can_zero\": true"));
        assertTrue(json, json.contains("\"can_df\": true"));
        assertTrue(json, json.contains("\"can_multi_conn\": false"));
        assertTrue(json, json.contains("\"is_read_only\": false"));
        assertTrue(json, json.contains("\"base:allocation\""));
        assertTrue(json, json.contains("\"structured\": true"));
    }

    @Test
    public void unknownExportIsRefusedToNbdinfo() throws Exception {
        assertTrue(exit("nbdinfo", "nbd://127.0.0.1:" + server.port() + "/guessed") != 0);
    }

    @Test
    public void qemuImgConvertAndCompare() throws Exception {
        Path image = tmp.newFile("image.raw").toPath();
        byte[] data = new byte[SIZE];
        Random r = new Random(1);
        for (int off = 0; off < SIZE; off += 1 << 20) {
            // half the megabytes random, the rest zeros: exercises zero detection and holes
            if ((off >> 20) % 2 == 0) {
                byte[] chunk = new byte[1 << 20];
                r.nextBytes(chunk);
                System.arraycopy(chunk, 0, data, off, chunk.length);
            }
        }
        Files.write(image, data);
        run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", image.toString(), uri);
        run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), uri);
        assertArrayEquals(data, Files.readAllBytes(volume));
    }

    @Test
    public void qemuIoPatternsAtScatteredOffsets() throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        long[] offsets = { 0, 4096, 1 << 20, (17 << 20) + 512, (40 << 20) + 12345, SIZE - 65536 };
        int pattern = 0x11;
        for (long off : offsets) {
            cmd.addAll(List.of("-c", "write -P " + pattern + " " + off + " 4096"));
            pattern += 0x11;
        }
        pattern = 0x11;
        for (long off : offsets) {
            cmd.addAll(List.of("-c", "read -P " + pattern + " " + off + " 4096"));
            pattern += 0x11;
        }
        cmd.addAll(List.of("-c", "flush", "-c", "write -z 8192 4096", "-c", "read -P 0 8192 4096"));
        cmd.add(uri);
        String out = run(cmd.toArray(String[]::new));
        assertTrue(out, !out.contains("Pattern verification failed"));
        byte[] now = Files.readAllBytes(volume);
        assertEquals(0x22, now[4096] & 0xff);
        assertEquals(0x66, now[SIZE - 65536] & 0xff);
    }

    @Test
    public void nbdcopyOfTheWholeVolumeMatches() throws Exception {
        run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 8M", "-c", "write -P 0xa5 " + (32 << 20) + " 1M", uri);
        Path copy = tmp.getRoot().toPath().resolve("copy.raw");
        run("nbdcopy", uri, copy.toString());
        assertArrayEquals(Files.readAllBytes(volume), Files.readAllBytes(copy));
        Path copy2 = tmp.getRoot().toPath().resolve("copy2.raw");
        run("nbdcopy", "nbd+unix:///e-7f3a9c?socket=" + socket, copy2.toString());
        assertArrayEquals("over the unix socket too", Files.readAllBytes(volume), Files.readAllBytes(copy2));
    }

    @Test
    public void fioVerifiesWithCrc32c() throws Exception {
        String out = run("fio", "--verify_state_save=0", "--name=verify", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite", "--bs=4k",
                "--size=16m", "--iodepth=32", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1");
        assertTrue(out, out.contains("err= 0"));
        String unix = run("fio", "--verify_state_save=0", "--name=verify", "--ioengine=nbd", "--uri=nbd+unix:///e-7f3a9c?socket=" + socket,
                "--rw=write", "--bs=1m", "--size=16m", "--offset=32m", "--iodepth=8", "--verify=crc32c",
                "--do_verify=1", "--verify_fatal=1");
        assertTrue(unix, unix.contains("err= 0"));
    }
}
