package cairn.itests.osgi;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

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
import org.osgi.util.tracker.ServiceTracker;

import cairn.blockstore.api.Attachment;
import cairn.blockstore.api.Volume;
import cairn.blockstore.api.VolumeService;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/**
 * The NBD server in lab mode (plaintext on loopback, the export name is the credential)
 * in front of the real engine, driven by the real clients: qemu-img, qemu-io, nbdinfo,
 * nbdcopy, fio. Also fencing, the hold while the engine restarts, and an orderly stop.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NbdLabModeTest {

    private static final int SIZE = 64 << 20;
    private static final Caller OPERATOR = new Caller("itest", "acme", Role.OPERATOR, "itest");
    private static final Caller ADMIN = new Caller("root", "acme", Role.ADMIN, "itest");

    @Inject
    private BundleContext context;
    @Inject
    private ReadinessService readiness;

    @Configuration
    public Option[] config() {
        return OptionUtils.combine(RoleBundles.allInOne(RoleBundles.newDataDirectory()),
                frameworkProperty("cairn.nbd.tls").value("off"));
    }

    private VolumeService volumes() throws Exception {
        ServiceTracker<VolumeService, VolumeService> t = new ServiceTracker<>(context, VolumeService.class, null);
        t.open();
        try {
            VolumeService s = t.waitForService(30_000);
            assertTrue("VolumeService is registered", s != null);
            return s;
        } finally {
            t.close();
        }
    }

    private int port() {
        return Integer.parseInt(context.getProperty("cairn.nbd.port"));
    }

    private Path scratch() throws Exception {
        Path p = Path.of(context.getProperty("cairn.data")).resolve("scratch");
        Files.createDirectories(p);
        return p;
    }

    private Attachment attached(String name, String instance) throws Exception {
        Volume v = volumes().create(OPERATOR, name, SIZE);
        return volumes().attach(OPERATOR, v.id(), instance).attachment();
    }

    private Bundle bundle(String bsn) {
        return Arrays.stream(context.getBundles()).filter(b -> b.getSymbolicName().equals(bsn)).findFirst()
                .orElseThrow();
    }

    @Test
    public void healthCheckNbdPasses() throws Exception {
        // the nbd check alone: other areas' checks are theirs to keep green
        Eventually.await("nbd check passes", Duration.ofSeconds(30), () -> readiness.report().checks().stream()
                .anyMatch(c -> c.name().equals("nbd") && c.ok()));
    }

    @Test
    public void realClientsWriteAndReadTheVolume() throws Exception {
        Attachment a = attached("lab-disk", "vm-1");
        String uri = a.uri();
        assertEquals("nbd://127.0.0.1:" + port() + "/" + a.exportName(), uri);

        String info = NbdClients.run("nbdinfo", "--json", uri);
        assertThat(info, containsString("\"export-size\": " + SIZE));
        assertThat(info, containsString("\"can_flush\": true"));
        assertThat(info, containsString("\"can_fua\": true"));
        assertThat(info, containsString("\"can_trim\": true"));
        assertThat(info, containsString("\"can_zero\": true"));
        assertThat(info, containsString("\"can_multi_conn\": true"));
        assertThat(info, containsString("\"is_read_only\": false"));
        assertThat(info, containsString("\"base:allocation\""));

        Path image = NbdClients.image(scratch(), "lab.raw", SIZE, 11);
        NbdClients.run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", image.toString(), uri);
        NbdClients.run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), uri);

        String io = NbdClients.run("qemu-io", "-f", "raw",
                "-c", "write -P 0x31 4096 4096", "-c", "write -P 0x32 " + (13 << 20) + " 65536",
                "-c", "write -P 0x33 " + (SIZE - 512) + " 512", "-c", "flush",
                "-c", "read -P 0x31 4096 4096", "-c", "read -P 0x32 " + (13 << 20) + " 65536",
                "-c", "read -P 0x33 " + (SIZE - 512) + " 512", uri);
        assertTrue(io, !io.contains("verification failed"));

        Path copy = scratch().resolve("lab-copy.raw");
        NbdClients.run("nbdcopy", uri, copy.toString());
        NbdClients.run("qemu-img", "compare", "-f", "raw", "-F", "raw", copy.toString(), uri);
        byte[] c = Files.readAllBytes(copy);
        assertEquals(0x32, c[13 << 20]);
        // the large reads of data in the page cache left from the volume's read-only mapping
        assertTrue("the volume's data file is mapped", Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .anyMatch(l -> l.contains(a.volumeId() + ".data")));

        String fio = NbdClients.run("fio", "--verify_state_save=0", "--name=verify", "--ioengine=nbd", "--uri=" + uri, "--rw=randwrite",
                "--bs=4k", "--size=16m", "--offset=32m", "--iodepth=32", "--verify=crc32c", "--do_verify=1",
                "--verify_fatal=1");
        assertThat(fio, containsString("err= 0"));

        String socket = context.getProperty("cairn.data") + "/run/nbd.sock";
        String unix = NbdClients.run("nbdinfo", "--size", "nbd+unix:///" + a.exportName() + "?socket=" + socket);
        assertEquals(Integer.toString(SIZE), unix.trim());
    }

    @Test
    public void aGuessedExportNameIsRefused() throws Exception {
        attached("guess-disk", "vm-g");
        assertNotEquals(0, NbdClients.exit("nbdinfo", "nbd://127.0.0.1:" + port() + "/guess-disk"));
        assertNotEquals(0, NbdClients.exit("nbdinfo", "--list", "nbd://127.0.0.1:" + port() + "/"));
        try (MiniNbdClient c = new MiniNbdClient(port())) {
            assertNotEquals("NBD_REP_ACK", 1, c.go(""));
        }
    }

    @Test
    public void fencingClosesConnectionsAndRefusesTheOldCredentials() throws Exception {
        Attachment a = attached("fence-disk", "vm-a");
        try (MiniNbdClient c = new MiniNbdClient(port())) {
            assertEquals(1, c.go(a.exportName()));
            byte[] data = new byte[4096];
            new Random(5).nextBytes(data);
            c.send(MiniNbdClient.WRITE, 1, 8192, data, data.length);
            assertEquals(0, c.reply(1, null));

            volumes().forceDetach(ADMIN, a.volumeId(), a.attachmentId());
            assertTrue("the fenced attachment's connection is closed", c.closedByServer());
        }
        try (MiniNbdClient c = new MiniNbdClient(port())) {
            assertNotEquals("fenced credentials are refused", 1, c.go(a.exportName()));
        }
        // the next holder sees what the fenced one wrote and flushed
        Attachment b = volumes().attach(OPERATOR, a.volumeId(), "vm-b").attachment();
        assertNotEquals(a.exportName(), b.exportName());
        try (MiniNbdClient c = new MiniNbdClient(port())) {
            assertEquals(1, c.go(b.exportName()));
            c.send(MiniNbdClient.READ, 2, 8192, null, 4096);
            byte[] back = new byte[4096];
            assertEquals(0, c.reply(2, back));
            byte[] data = new byte[4096];
            new Random(5).nextBytes(data);
            assertArrayEquals(data, back);
        }
    }

    @Test
    public void requestsAreHeldWhileTheEngineRestartsThenServed() throws Exception {
        Attachment a = attached("hold-disk", "vm-h");
        Bundle engine = bundle("cairn.blockstore");
        try (MiniNbdClient c = new MiniNbdClient(port())) {
            assertEquals(1, c.go(a.exportName()));
            byte[] data = new byte[65536];
            new Random(9).nextBytes(data);
            c.send(MiniNbdClient.WRITE, 1, 1 << 20, data, data.length);
            assertEquals(0, c.reply(1, null));

            engine.stop();
            try {
                c.send(MiniNbdClient.READ, 2, 1 << 20, null, data.length);
                CompletableFuture<Void> restart = CompletableFuture.runAsync(() -> {
                    try {
                        engine.start();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                byte[] back = new byte[data.length];
                assertEquals("the read waited for the engine instead of failing", 0, c.reply(2, back));
                assertArrayEquals(data, back);
                restart.get(60, TimeUnit.SECONDS);
            } finally {
                if (engine.getState() != Bundle.ACTIVE) {
                    engine.start();
                }
            }
        }
    }

    @Test
    public void anOrderlyStopClosesWithoutAnsweringHeldRequestsSoAReconnectingClientResendsThem() throws Exception {
        Attachment a = attached("stop-disk", "vm-s");
        Bundle engine = bundle("cairn.blockstore");
        Bundle nbd = bundle("cairn.nbd");
        try (MiniNbdClient c = new MiniNbdClient(port())) {
            assertEquals(1, c.go(a.exportName()));
            engine.stop();
            c.send(MiniNbdClient.READ, 7, 0, null, 4096);
            // the read is held for the engine; stopping the NBD server ends the wait and closes
            // the connection without an error reply (a reconnecting client sends it again)
            nbd.stop();
            assertTrue("closed with no reply to the held read", c.closedByServer());
        } finally {
            engine.start();
            nbd.start();
        }
        Eventually.await("nbd healthy again", Duration.ofSeconds(30), () -> readiness.report().checks().stream()
                .anyMatch(ch -> ch.name().equals("nbd") && ch.ok()));
        try (MiniNbdClient c = new MiniNbdClient(port())) {
            assertEquals("the restarted server serves the attachment again", 1, c.go(a.exportName()));
        }
    }
}
