package cairn.itests.osgi;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

import cairn.blockstore.api.AttachResult;
import cairn.blockstore.api.Attachment;
import cairn.blockstore.api.AttachmentFencedException;
import cairn.blockstore.api.BlockstoreConstants;
import cairn.blockstore.api.ChangedBlocks;
import cairn.blockstore.api.EngineUnavailableException;
import cairn.blockstore.api.ExportRefusedException;
import cairn.blockstore.api.Extent;
import cairn.blockstore.api.Volume;
import cairn.blockstore.api.VolumeChannel;
import cairn.blockstore.api.VolumeService;
import cairn.blockstore.api.VolumeState;
import cairn.blockstore.api.VolumeStats;
import cairn.blockstore.api.VolumeView;
import cairn.blockstore.api.tls.FleetCertificateAuthority;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.ConflictException;
import cairn.platform.api.errors.ForbiddenException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/**
 * The block storage engine on the all-in-one role's real bundles, real Felix and real
 * Derby, driven as the NBD server and the REST layer will drive it. The lease is set to
 * one second (through the operator's etc/ directory, as in production) so expiry and
 * takeover happen within the test.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class BlockstoreTest {

    private static final long LEASE_MILLIS = 1000;
    private static final int MIB = 1 << 20;
    private static final Caller ALICE = new Caller("alice", "acme", Role.OPERATOR, "itest");
    private static final Caller CAROL = new Caller("carol", "acme", Role.VIEWER, "itest");
    private static final Caller MALLORY = new Caller("mallory", "other", Role.OPERATOR, "itest");
    private static final Caller ADMIN = new Caller("root", "ops", Role.ADMIN, "itest");

    @Inject
    private BundleContext context;
    @Inject
    private AuditLog audit;
    @Inject
    private ReadinessService readiness;
    @Inject
    private ConfigurationAdmin configAdmin;
    @Inject
    private FleetCertificateAuthority ca;

    @Configuration
    public Option[] config() throws IOException {
        Path data = RoleBundles.newDataDirectory();
        Files.writeString(data.resolve("etc").resolve(BlockstoreConstants.ENGINE_PID + ".cfg"),
                "leaseMillis=" + LEASE_MILLIS + "\n");
        return RoleBundles.allInOne(data);
    }

    @Test
    public void catalogRefusesBadInputAndChangesNothing() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "catalog-1", 8 * MIB);
        assertTrue(v.id().startsWith("vol-"));
        assertEquals(VolumeState.AVAILABLE, v.state());
        assertEquals("acme", v.account());
        assertEquals(0, v.epoch());
        List<Volume> before = volumes.list(ALICE);

        expectInvalid("sizeBytes", () -> volumes.create(ALICE, "odd", 4097));
        expectInvalid("sizeBytes", () -> volumes.create(ALICE, "negative", -4096));
        expectInvalid("sizeBytes", () -> volumes.create(ALICE, "zero", 0));
        expectInvalid("sizeBytes", () -> volumes.create(ALICE, "huge", (16L << 40) + 4096));
        expectInvalid("name", () -> volumes.create(ALICE, "bad name/..", 4096));
        expectInvalid("name", () -> volumes.create(ALICE, "", 4096));
        expectConflict("volume_name_taken", () -> volumes.create(ALICE, "catalog-1", 4096));
        expectInvalid("sizeBytes", () -> volumes.resize(ALICE, v.id(), 8 * MIB + 1));
        expectConflict("size_shrink", () -> volumes.resize(ALICE, v.id(), 4 * MIB));
        try {
            volumes.create(CAROL, "viewer-cannot", 4096);
            fail("a viewer must not create volumes");
        } catch (ForbiddenException expected) {
            // expected
        }
        try {
            volumes.get(MALLORY, v.id());
            fail("another account must not see the volume");
        } catch (NotFoundException expected) {
            // expected
        }
        assertFalse(volumes.list(MALLORY).stream().anyMatch(x -> x.id().equals(v.id())));
        assertEquals("nothing was created or changed", before, volumes.list(ALICE));
        assertEquals(8 * MIB, volumes.get(CAROL, v.id()).sizeBytes());

        Attachment a = volumes.attach(ALICE, v.id(), "inst-catalog").attachment();
        expectConflict("volume_attached", () -> {
            volumes.delete(ALICE, v.id());
            return null;
        });
        assertEquals(VolumeState.IN_USE, volumes.get(ALICE, v.id()).state());
        assertEquals("inst-catalog", volumes.get(ALICE, v.id()).attachedInstanceId());

        Volume grown = volumes.resize(ALICE, v.id(), 16 * MIB);
        assertEquals("grows online while attached", 16 * MIB, grown.sizeBytes());
        volumes.detach(ALICE, v.id(), a.attachmentId());
        volumes.delete(ALICE, v.id());
        try {
            volumes.get(ALICE, v.id());
            fail("deleted");
        } catch (NotFoundException expected) {
            // expected
        }
        Path dataDir = Path.of(context.getProperty("cairn.data")).resolve("volumes");
        try (var files = Files.list(dataDir)) {
            assertFalse("its files are gone", files.anyMatch(p -> p.getFileName().toString().startsWith(v.id())));
        }
        assertTrue(audit.query(new AuditQuery(null, null, "alice", "volume.delete", 0, 10)).entries().stream()
                .anyMatch(e -> e.target().equals(v.id()) && e.result().equals("ok")));
        assertTrue(audit.query(new AuditQuery(null, null, "alice", "volume.create", 0, 50)).entries().stream()
                .anyMatch(e -> e.result().equals("volume_name_taken")));
    }

    @Test
    public void writeReadFlushTrimAndZeroRoundTrip() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "io-1", 4 * MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-io").attachment();
        assertTrue(a.uri().endsWith("/" + a.exportName()));
        assertTrue(a.uri().startsWith("nbds://"));
        try (VolumeChannel ch = volumes.open(a.exportName())) {
            assertEquals(4 * MIB, ch.size());
            assertEquals(a.epoch(), ch.epoch());
            assertTrue("a fresh volume is one hole", ch.blockStatus(0, 4 * MIB).equals(
                    List.of(new Extent(0, 4 * MIB, true, true))));

            byte[] pattern = random(3 * 4096 + 100, 1);
            ch.write(70_000, ByteBuffer.wrap(pattern), false);
            ch.flush();
            ByteBuffer back = ByteBuffer.allocate(pattern.length);
            ch.read(70_000, back);
            assertArrayEquals(pattern, back.array());
            ByteBuffer direct = ByteBuffer.allocateDirect(4096);
            ch.read(0, direct);
            direct.flip();
            while (direct.hasRemaining()) {
                assertEquals("never written reads zero", 0, direct.get());
            }
            List<Extent> status = ch.blockStatus(0, 4 * MIB);
            assertEquals(new Extent(0, 65536, true, true), status.get(0));
            assertEquals(new Extent(65536, 65536, false, false), status.get(1));

            // FUA write, then trim a whole block and zero a partial range inside another.
            byte[] block = random(65536 * 3, 2);
            ch.write(65536 * 4, ByteBuffer.wrap(block), true);
            ch.trim(65536 * 5, 65536);
            ch.writeZeroes(65536 * 6 + 100, 200, false, false);
            ByteBuffer all = ByteBuffer.allocate(65536 * 3);
            ch.read(65536 * 4, all);
            byte[] expected = block.clone();
            Arrays.fill(expected, 65536, 2 * 65536, (byte) 0);
            Arrays.fill(expected, 2 * 65536 + 100, 2 * 65536 + 300, (byte) 0);
            assertArrayEquals(expected, all.array());
            assertTrue(ch.blockStatus(65536 * 5, 65536).get(0).hole());
            assertTrue("whole blocks zero in metadata", ch.canZeroFast(65536 * 4, 65536, false));
            assertFalse("a partial block of data needs writing", ch.canZeroFast(65536 * 4, 512, false));

            // A partial write into a trimmed block keeps the rest of it zero.
            ch.write(65536 * 5 + 4096, ByteBuffer.wrap(new byte[] { 7, 7, 7 }), false);
            ByteBuffer trimmed = ByteBuffer.allocate(65536);
            ch.read(65536 * 5, trimmed);
            byte[] want = new byte[65536];
            want[4096] = want[4097] = want[4098] = 7;
            assertArrayEquals(want, trimmed.array());

            // Out of range: clear refusal, nothing written.
            try {
                ch.write(4 * MIB - 10, ByteBuffer.allocate(20), false);
                fail("write past the end");
            } catch (IllegalArgumentException expectedError) {
                assertTrue(expectedError.getMessage().contains("beyond the end"));
            }
            try {
                ch.read(-1, ByteBuffer.allocate(1));
                fail("negative offset");
            } catch (IllegalArgumentException expectedError) {
                // expected
            }
            ByteBuffer tail = ByteBuffer.allocate(10);
            ch.read(4 * MIB - 10, tail);
            assertArrayEquals(new byte[10], tail.array());

            VolumeStats stats = volumes.stats(CAROL, v.id());
            assertEquals("successful writes only", 3, stats.writeOps());
            assertEquals(pattern.length + block.length + 3, stats.writeBytes());
            assertEquals(5, stats.readOps());
            assertEquals(2, stats.zeroOps());
            assertEquals(1, stats.flushOps());
            assertEquals(1, stats.openConnections());
        }
        volumes.detach(ALICE, v.id(), a.attachmentId());
    }

    @Test
    public void attachIsIdempotentEpochsGrowAndCertificatesIdentifyTheAttachment() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "attach-1", MIB);
        AttachResult first = volumes.attach(ALICE, v.id(), "inst-a");
        assertTrue(first.created());
        AttachResult again = volumes.attach(ALICE, v.id(), "inst-a");
        assertFalse(again.created());
        assertEquals(first.attachment().attachmentId(), again.attachment().attachmentId());
        assertEquals(first.attachment().epoch(), again.attachment().epoch());
        assertEquals(first.attachment().tls().clientCertPem(), again.attachment().tls().clientCertPem());
        assertNull("described without secrets", volumes.attachment(CAROL, v.id()).orElseThrow().tls());
        expectConflict("volume_attached", () -> volumes.attach(ALICE, v.id(), "inst-b"));

        X509Certificate cert = certificate(first.attachment().tls().clientCertPem());
        cert.verify(ca.trustedCertificate().getPublicKey());
        assertTrue(cert.getSubjectX500Principal().getName().contains(first.attachment().attachmentId()));
        assertEquals(ca.trustedCertificatePem(), first.attachment().tls().caCertPem());
        assertTrue(first.attachment().tls().clientKeyPem().startsWith("-----BEGIN PRIVATE KEY-----"));
        assertEquals(first.attachment().exportName(), volumes.exportFor(cert).orElseThrow());
        try (VolumeChannel ch = volumes.open("", cert)) {
            assertEquals(first.attachment().attachmentId(), ch.attachmentId());
        }
        try {
            volumes.open("not-" + first.attachment().exportName(), cert).close();
            fail("a certificate opens only its own export");
        } catch (ExportRefusedException expected) {
            // expected
        }
        try {
            volumes.open("no-such-export").close();
            fail("unknown export");
        } catch (ExportRefusedException expected) {
            // expected
        }

        volumes.detach(ALICE, v.id(), first.attachment().attachmentId());
        expectConflict("attachment_ended", () -> {
            volumes.detach(ALICE, v.id(), first.attachment().attachmentId());
            return null;
        });
        try {
            volumes.open(first.attachment().exportName()).close();
            fail("a detached attachment's credentials are refused");
        } catch (AttachmentFencedException expected) {
            // expected
        }
        AttachResult second = volumes.attach(ALICE, v.id(), "inst-b");
        assertTrue(second.attachment().epoch() > first.attachment().epoch());
        assertNotEquals(first.attachment().exportName(), second.attachment().exportName());
        assertEquals(second.attachment().epoch(), volumes.get(ALICE, v.id()).epoch());
        volumes.detach(ALICE, v.id(), second.attachment().attachmentId());
    }

    @Test
    public void takeoverAfterLeaseExpiryFencesTheOldAttachment() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "takeover-1", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-old").attachment();
        X509Certificate oldCert = certificate(a.tls().clientCertPem());
        byte[] data = random(8192, 3);
        VolumeChannel ch = volumes.open(a.exportName(), oldCert);
        ch.write(0, ByteBuffer.wrap(data), false);
        ch.flush();
        expectConflict("lease_held", () -> volumes.takeover(ALICE, v.id(), "inst-new"));
        try {
            volumes.detach(ALICE, v.id(), a.attachmentId());
            fail("detach with an open connection");
        } catch (ConflictException expected) {
            assertEquals("attachment_in_use", expected.code());
        }
        ch.close();
        expectConflict("lease_held", () -> volumes.takeover(ALICE, v.id(), "inst-new"));

        Eventually.await("the lease runs out", Duration.ofSeconds(10),
                () -> volumes.attachment(ALICE, v.id()).orElseThrow().leaseExpiresAt().toEpochMilli()
                        < System.currentTimeMillis());
        // An expired lease alone fences nothing: the old credentials still work, and
        // using them holds the lease again.
        try (VolumeChannel late = volumes.open(a.exportName(), oldCert)) {
            ByteBuffer back = ByteBuffer.allocate(data.length);
            late.read(0, back);
            assertArrayEquals(data, back.array());
            expectConflict("lease_held", () -> volumes.takeover(ALICE, v.id(), "inst-new"));
        }
        Eventually.await("the lease runs out again", Duration.ofSeconds(10),
                () -> volumes.attachment(ALICE, v.id()).orElseThrow().leaseExpiresAt().toEpochMilli()
                        < System.currentTimeMillis());
        Attachment b = volumes.takeover(ALICE, v.id(), "inst-new");
        assertEquals(a.epoch() + 1, b.epoch());
        assertNotNull(b.tls());
        for (String how : List.of("certificate", "export name")) {
            try {
                if (how.equals("certificate")) {
                    volumes.open(a.exportName(), oldCert).close();
                } else {
                    volumes.open(a.exportName()).close();
                }
                fail("the old attachment's " + how + " must be refused");
            } catch (AttachmentFencedException expected) {
                assertEquals(a.attachmentId(), expected.attachmentId());
            }
        }
        try (VolumeChannel nb = volumes.open(b.exportName(), certificate(b.tls().clientCertPem()))) {
            ByteBuffer back = ByteBuffer.allocate(data.length);
            nb.read(0, back);
            assertArrayEquals("the new holder reads what the old one flushed", data, back.array());
        }
        assertTrue(audit.query(new AuditQuery(null, null, "alice", "volume.takeover", 0, 10)).entries().stream()
                .anyMatch(e -> e.target().equals(v.id()) && e.result().equals("ok")));
        volumes.detach(ALICE, v.id(), b.attachmentId());
    }

    @Test
    public void anAdminsForcedTakeoverFencesAnOpenChannelInOneStep() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "takeover-forced", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-held").attachment();
        byte[] data = random(8192, 5);
        VolumeChannel ch = volumes.open(a.exportName(), certificate(a.tls().clientCertPem()));
        CompletableFuture<IOException> closed = new CompletableFuture<>();
        ch.onClose(closed::complete);
        ch.write(0, ByteBuffer.wrap(data), false);
        ch.flush();
        try {
            volumes.forceTakeover(ALICE, v.id(), "inst-rescue");
            fail("only admins force a takeover");
        } catch (ForbiddenException expected) {
            // expected
        }
        assertTrue("a refused force changes nothing", ch.isOpen());
        Attachment b = volumes.forceTakeover(ADMIN, v.id(), "inst-rescue");
        assertEquals(a.epoch() + 1, b.epoch());
        assertEquals("inst-rescue", volumes.attachment(ALICE, v.id()).orElseThrow().instanceId());
        assertTrue(closed.get(5, TimeUnit.SECONDS) instanceof AttachmentFencedException);
        try {
            ch.write(0, ByteBuffer.wrap(random(4096, 6)), false);
            fail("a fenced channel must not write");
        } catch (AttachmentFencedException expected) {
            assertEquals(a.epoch(), expected.epoch());
        }
        ch.close();
        try (VolumeChannel nb = volumes.open(b.exportName(), certificate(b.tls().clientCertPem()))) {
            ByteBuffer back = ByteBuffer.allocate(data.length);
            nb.read(0, back);
            assertArrayEquals("the new holder reads what the old one flushed", data, back.array());
        }
        assertTrue(audit.query(new AuditQuery(null, null, "root", "volume.fence", 0, 10)).entries().stream()
                .anyMatch(e -> e.target().equals(v.id()) && e.detail().contains(a.attachmentId())));
        assertTrue(audit.query(new AuditQuery(null, null, "alice", "volume.takeover", 0, 10)).entries().stream()
                .anyMatch(e -> e.target().equals(v.id()) && e.result().equals("forbidden")));
        volumes.forceDetach(ADMIN, v.id(), b.attachmentId());
    }

    @Test
    public void aRegionSendsTheVolumesBytesAndFollowsTheReadRules() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "region-1", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-r").attachment();
        byte[] data = random(3 * 65536, 11);
        try (VolumeChannel ch = volumes.open(a.exportName())) {
            ch.write(0, ByteBuffer.wrap(data), false);
            java.io.ByteArrayOutputStream sent = new java.io.ByteArrayOutputStream();
            try (VolumeChannel.Region r = ch.region(4096, 2 * 65536).orElseThrow()) {
                assertEquals(2 * 65536, r.length());
                r.sendTo(java.nio.channels.Channels.newChannel(sent));
            }
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 4096, 4096 + 2 * 65536), sent.toByteArray());
            try {
                ch.region(MIB - 4096, 8192);
                fail("a region past the end");
            } catch (IllegalArgumentException expected) {
                // as a read
            }
            ch.trim(65536, 65536);
            assertTrue("a trimmed range is read, not sent from the file", ch.region(0, 3 * 65536).isEmpty());
            VolumeChannel.Region open = ch.region(0, 4096).orElseThrow();
            volumes.forceDetach(ADMIN, v.id(), a.attachmentId());
            try {
                ch.region(0, 4096);
                fail("a fenced channel must not read");
            } catch (AttachmentFencedException expected) {
                assertEquals(a.epoch(), expected.epoch());
            }
            // a region taken before the fence still sends: reads in flight are not cut
            java.io.ByteArrayOutputStream late = new java.io.ByteArrayOutputStream();
            open.sendTo(java.nio.channels.Channels.newChannel(late));
            open.close();
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 0, 4096), late.toByteArray());
        }
    }

    @Test
    public void mappedMemoryHoldsTheVolumesBytesFollowsTheReadRulesAndEndsWithTheVolume() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "mapped-1", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-m").attachment();
        byte[] data = random(3 * 65536, 12);
        try (VolumeChannel ch = volumes.open(a.exportName())) {
            ch.write(0, ByteBuffer.wrap(data), false);
            try (VolumeChannel.Region r = ch.mapped(4096, 2 * 65536).orElseThrow()) {
                ByteBuffer m = r.memory().orElseThrow();
                assertTrue(m.isDirect() && m.isReadOnly());
                byte[] got = new byte[m.remaining()];
                m.get(got);
                assertArrayEquals(Arrays.copyOfRange(data, 4096, 4096 + 2 * 65536), got);
                java.io.ByteArrayOutputStream sent = new java.io.ByteArrayOutputStream();
                r.sendTo(java.nio.channels.Channels.newChannel(sent));
                assertArrayEquals(got, sent.toByteArray());
            }
            assertTrue("the volume's file is mapped", mapped(v.id()));
            try {
                ch.mapped(MIB - 4096, 8192);
                fail("mapped memory past the end");
            } catch (IllegalArgumentException expected) {
                // as a read
            }
            assertTrue("never written nor read, so not in the page cache: read with pread",
                    ch.mapped(MIB - 65536, 65536).isEmpty());
            ch.trim(65536, 65536);
            assertTrue("a trimmed range is read, not sent from the file", ch.mapped(0, 3 * 65536).isEmpty());
            volumes.forceDetach(ADMIN, v.id(), a.attachmentId());
            try {
                ch.mapped(0, 4096);
                fail("a fenced channel must not read");
            } catch (AttachmentFencedException expected) {
                assertEquals(a.epoch(), expected.epoch());
            }
        }
        volumes.delete(ALICE, v.id());
        // unmapped with the volume (sun.misc.Unsafe inside the framework), not whenever the
        // garbage collector runs: a deleted volume's space is free at once
        assertFalse("a deleted volume's file is no longer mapped", mapped(v.id()));
    }

    /** Whether this process maps the volume's data file (Linux). */
    private static boolean mapped(String volumeId) throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().anyMatch(l -> l.contains(volumeId + ".data"));
    }

    @Test
    public void forcedDetachFencesOpenConnections() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "fence-1", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-f").attachment();
        VolumeChannel ch = volumes.open(a.exportName());
        CompletableFuture<IOException> closed = new CompletableFuture<>();
        ch.onClose(closed::complete);
        ch.write(0, ByteBuffer.wrap(new byte[] { 1, 2, 3 }), false);
        try {
            volumes.forceDetach(ALICE, v.id(), a.attachmentId());
            fail("only admins force a detach");
        } catch (ForbiddenException expected) {
            // expected
        }
        volumes.forceDetach(ADMIN, v.id(), a.attachmentId());
        assertTrue(closed.get(5, TimeUnit.SECONDS) instanceof AttachmentFencedException);
        assertFalse(ch.isOpen());
        try {
            ch.write(0, ByteBuffer.wrap(new byte[] { 9 }), false);
            fail("a fenced channel must not write");
        } catch (AttachmentFencedException expected) {
            assertEquals(a.epoch(), expected.epoch());
        }
        ch.close();
        assertEquals(VolumeState.AVAILABLE, volumes.get(ALICE, v.id()).state());
        Attachment b = volumes.attach(ALICE, v.id(), "inst-g").attachment();
        try (VolumeChannel nb = volumes.open(b.exportName())) {
            ByteBuffer back = ByteBuffer.allocate(3);
            nb.read(0, back);
            assertArrayEquals("the fenced write did not happen", new byte[] { 1, 2, 3 }, back.array());
        }
        volumes.detach(ALICE, v.id(), b.attachmentId());
    }

    @Test
    public void aStandbyTakesOverAutomaticallyWhenTheLeaseRunsOut() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "standby-1", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-primary").attachment();
        volumes.registerStandby(ALICE, v.id(), "inst-standby");
        assertEquals("inst-standby", volumes.standbys(CAROL, v.id()).get(0).instanceId());
        try (VolumeChannel ch = volumes.open(a.exportName())) {
            ch.write(0, ByteBuffer.wrap(new byte[] { 42 }), true);
            // While the connection is open the lease is held.
            assertEquals("inst-primary", volumes.get(ALICE, v.id()).attachedInstanceId());
        }
        Eventually.await("the standby holds the volume", Duration.ofSeconds(15),
                () -> "inst-standby".equals(volumes.get(ALICE, v.id()).attachedInstanceId()));
        AttachResult mine = volumes.attach(ALICE, v.id(), "inst-standby");
        assertFalse("the standby fetches the attachment made for it", mine.created());
        assertTrue(mine.attachment().epoch() > a.epoch());
        assertNotNull(mine.attachment().tls());
        assertTrue("the standby registration is used up", volumes.standbys(ALICE, v.id()).isEmpty());
        try {
            volumes.open(a.exportName()).close();
            fail("the old holder is fenced");
        } catch (AttachmentFencedException expected) {
            // expected
        }
        try (VolumeChannel ch = volumes.open(mine.attachment().exportName())) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(0, b);
            assertEquals(42, b.get(0));
        }
        assertTrue(audit.query(new AuditQuery(null, null, "system", "volume.takeover", 0, 10)).entries().stream()
                .anyMatch(e -> e.target().equals(v.id())));
        volumes.detach(ALICE, v.id(), mine.attachment().attachmentId());
    }

    @Test
    public void changedBlocksAndPointInTimeViews() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "cbt-1", 4 * MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-cbt").attachment();
        try (VolumeChannel ch = volumes.open(a.exportName())) {
            byte[] one = random(4096, 5);
            ch.write(0, ByteBuffer.wrap(one), false);
            ch.write(10L * 65536 + 5, ByteBuffer.wrap(one), false);
            ch.flush();
            ChangedBlocks all = volumes.changedBlocks(CAROL, v.id(), 0);
            assertArrayEquals(new long[] { 0, 10 }, all.blocks());
            assertEquals(65536, all.blockSize());

            byte[] two = random(4096, 6);
            long generation;
            try (VolumeView view = volumes.openView(ALICE, v.id())) {
                generation = view.generation();
                ch.write(10L * 65536 + 5, ByteBuffer.wrap(two), false);
                ch.write(20L * 65536, ByteBuffer.wrap(two), false);
                ch.trim(0, 65536);
                ByteBuffer old = ByteBuffer.allocate(4096);
                view.read(10L * 65536 + 5, old);
                assertArrayEquals("the view keeps the old bytes", one, old.array());
                ByteBuffer first = ByteBuffer.allocate(4096);
                view.read(0, first);
                assertArrayEquals("the view does not see the trim", one, first.array());
                ByteBuffer twenty = ByteBuffer.allocate(4096);
                view.read(20L * 65536, twenty);
                assertArrayEquals("nor the new block", new byte[4096], twenty.array());
                assertTrue(view.blockStatus(20L * 65536, 65536).get(0).hole());
            }
            ByteBuffer now = ByteBuffer.allocate(4096);
            ch.read(10L * 65536 + 5, now);
            assertArrayEquals("the volume has the new bytes", two, now.array());
            ChangedBlocks since = volumes.changedBlocks(ALICE, v.id(), generation);
            assertArrayEquals(new long[] { 0, 10, 20 }, since.blocks());
            assertTrue(since.generation() > generation);
        }
        volumes.detach(ALICE, v.id(), a.attachmentId());
    }

    @Test
    public void theEngineRestartsWithoutLosingVolumesOrAttachments() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "restart-1", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-r").attachment();
        VolumeChannel ch = volumes.open(a.exportName());
        CompletableFuture<IOException> closed = new CompletableFuture<>();
        ch.onClose(closed::complete);
        byte[] data = random(65536 + 4096, 7);
        ch.write(4096, ByteBuffer.wrap(data), false);

        // A configuration change restarts the component, as an upgrade of the bundle would.
        org.osgi.service.cm.Configuration config = configAdmin.getConfiguration(BlockstoreConstants.ENGINE_PID, "?");
        Dictionary<String, Object> props = config.getProperties() == null ? new Hashtable<>() : config.getProperties();
        props.put("leaseMillis", LEASE_MILLIS);
        props.put("recordIntervalMillis", 500L);
        config.update(props);
        assertTrue(closed.get(20, TimeUnit.SECONDS) instanceof EngineUnavailableException);
        try {
            ch.read(0, ByteBuffer.allocate(1));
            fail("the old engine's channel is gone");
        } catch (EngineUnavailableException expected) {
            // expected: the NBD server reopens on the new service
        }
        VolumeService restarted = engine("(recordIntervalMillis=500)");
        Attachment same = restarted.attachment(ALICE, v.id()).orElseThrow();
        assertEquals(a.attachmentId(), same.attachmentId());
        assertEquals(a.epoch(), same.epoch());
        try (VolumeChannel again = restarted.open(a.exportName())) {
            ByteBuffer back = ByteBuffer.allocate(data.length);
            again.read(4096, back);
            assertArrayEquals("acknowledged writes survive the restart", data, back.array());
        }
        assertArrayEquals(new long[] { 0, 1 }, restarted.changedBlocks(ALICE, v.id(), 0).blocks());
        restarted.detach(ALICE, v.id(), a.attachmentId());
    }

    /**
     * The issued PEM files work with gnutls, the TLS library of qemu and libnbd: nbdkit
     * serves with the appliance's server certificate and requires a client certificate from
     * the fleet CA; nbdinfo connects with an attachment's three files and the URI's host.
     */
    @Test
    public void issuedCredentialsWorkWithGnutlsClientsAndServers() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "tls-1", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-tls").attachment();
        Path dir = Files.createTempDirectory("tls-interop");
        Path server = Files.createDirectories(dir.resolve("server"));
        Path client = Files.createDirectories(dir.resolve("client"));
        Path stranger = Files.createDirectories(dir.resolve("stranger"));
        FleetCertificateAuthority.ServerIdentity id = ca.serverIdentity();
        Files.writeString(server.resolve("ca-cert.pem"), ca.trustedCertificatePem());
        Files.writeString(server.resolve("server-cert.pem"), pem("CERTIFICATE", id.chain().get(0).getEncoded()));
        Files.copy(Path.of(context.getProperty("cairn.data"), "tls", "nbd-server-key.pem"), server.resolve("server-key.pem"));
        Files.writeString(client.resolve("ca-cert.pem"), a.tls().caCertPem());
        Files.writeString(client.resolve("client-cert.pem"), a.tls().clientCertPem());
        Files.writeString(client.resolve("client-key.pem"), a.tls().clientKeyPem());
        Files.writeString(stranger.resolve("ca-cert.pem"), a.tls().caCertPem());
        assertTrue("the server certificate names the loopback address", id.hostNames().contains("127.0.0.1"));

        int port = RoleBundles.freePort();
        Process nbdkit = new ProcessBuilder("nbdkit", "-f", "--exit-with-parent", "-i", "127.0.0.1", "-p",
                Integer.toString(port), "--tls=require", "--tls-verify-peer", "--tls-certificates=" + server,
                "memory", "1M").redirectErrorStream(true).redirectOutput(dir.resolve("nbdkit.log").toFile()).start();
        try {
            Eventually.await("nbdkit listens", Duration.ofSeconds(20), () -> {
                assertTrue("nbdkit exited: " + Files.readString(dir.resolve("nbdkit.log")), nbdkit.isAlive());
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    return true;
                } catch (IOException e) {
                    return false;
                }
            });
            String uri = "nbds://127.0.0.1:" + port + "/?tls-certificates=";
            ProcessResult ok = run("nbdinfo", "--size", uri + client);
            assertEquals(ok.output, 0, ok.exit);
            assertEquals("1048576", ok.output.trim());
            ProcessResult refused = run("nbdinfo", "--size", uri + stranger);
            assertNotEquals("no client certificate, no connection: " + refused.output, 0, refused.exit);
        } finally {
            nbdkit.destroy();
            nbdkit.waitFor(10, TimeUnit.SECONDS);
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            volumes.detach(ALICE, v.id(), a.attachmentId());
        }
    }

    /**
     * What the NBD server will do: a JSSE server from {@link FleetCertificateAuthority#newServerContext()}
     * requiring a client certificate, a gnutls client presenting an attachment's files over
     * TLS 1.3 and 1.2, and the verified certificate mapped back to the attachment's export.
     */
    @Test
    public void jsseServerContextAcceptsGnutlsClientsWithAttachmentCertificates() throws Exception {
        VolumeService volumes = engine();
        Volume v = volumes.create(ALICE, "tls-2", MIB);
        Attachment a = volumes.attach(ALICE, v.id(), "inst-jsse").attachment();
        Path dir = Files.createTempDirectory("jsse-interop");
        Files.writeString(dir.resolve("ca-cert.pem"), a.tls().caCertPem());
        Files.writeString(dir.resolve("client-cert.pem"), a.tls().clientCertPem());
        Files.writeString(dir.resolve("client-key.pem"), a.tls().clientKeyPem());
        javax.net.ssl.SSLServerSocket listener = (javax.net.ssl.SSLServerSocket) ca.newServerContext()
                .getServerSocketFactory().createServerSocket(0, 5, java.net.InetAddress.getByName("127.0.0.1"));
        listener.setNeedClientAuth(true);
        listener.setEnabledProtocols(new String[] { "TLSv1.3", "TLSv1.2" });
        try {
            for (String priority : List.of("NORMAL", "NORMAL:-VERS-TLS1.3")) {
                CompletableFuture<String> served = CompletableFuture.supplyAsync(() -> serveOne(listener, volumes));
                ProcessResult client = gnutlsCli(listener.getLocalPort(), priority, dir, true);
                assertEquals(client.output, a.exportName(), served.get(30, TimeUnit.SECONDS));
                assertTrue(client.output, client.output.contains(a.exportName()));
                assertFalse("a clean TLS close: " + client.output, client.output.contains("Fatal error"));
            }
            CompletableFuture<String> refused = CompletableFuture.supplyAsync(() -> serveOne(listener, volumes));
            gnutlsCli(listener.getLocalPort(), "NORMAL", dir, false);
            assertTrue(refused.get(30, TimeUnit.SECONDS).startsWith("refused"));
        } finally {
            listener.close();
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            volumes.detach(ALICE, v.id(), a.attachmentId());
        }
    }

    /** Accepts one TLS client and answers with the export its certificate was issued for. */
    private static String serveOne(javax.net.ssl.SSLServerSocket listener, VolumeService volumes) {
        try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) listener.accept()) {
            s.setSoTimeout(20_000);
            try {
                s.startHandshake();
            } catch (IOException e) {
                return "refused: " + e.getMessage();
            }
            X509Certificate peer = (X509Certificate) s.getSession().getPeerCertificates()[0];
            String export = volumes.exportFor(peer).orElse("unknown");
            s.getOutputStream().write((export + "\n").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            // Under TLS 1.3 a plain close() of a JSSE socket whose peer has not sent its
            // close_notify yet sends a user_canceled alert first, which gnutls treats as fatal.
            // Half-closing first sends close_notify alone.
            s.shutdownOutput();
            return export;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ProcessResult gnutlsCli(int port, String priority, Path dir, boolean withCertificate)
            throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("gnutls-cli", "--priority", priority,
                "--x509cafile", dir.resolve("ca-cert.pem").toString(), "-p", Integer.toString(port)));
        if (withCertificate) {
            cmd.addAll(List.of("--x509certfile", dir.resolve("client-cert.pem").toString(), "--x509keyfile",
                    dir.resolve("client-key.pem").toString()));
        }
        cmd.add("127.0.0.1");
        // stdin stays open: the client leaves when the server closes the connection.
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        p.getOutputStream().close();
        return new ProcessResult(p.waitFor(), out.get(5, TimeUnit.SECONDS));
    }

    @Test
    public void healthCheckReportsTheEngine() throws Exception {
        engine();
        Eventually.await("blockstore check ok", Duration.ofSeconds(30), () -> readiness.report().checks().stream()
                .anyMatch(c -> c.name().equals(BlockstoreConstants.HEALTH_CHECK) && c.ok()));
    }

    // ---- helpers

    private VolumeService engine() throws Exception {
        return engine("(leaseMillis=" + LEASE_MILLIS + ")");
    }

    /** The engine once it runs with the test's configuration (it restarts when that arrives). */
    private VolumeService engine(String filter) throws Exception {
        ServiceTracker<VolumeService, VolumeService> tracker = new ServiceTracker<>(context,
                context.createFilter("(&(objectClass=" + VolumeService.class.getName() + ")" + filter + ")"), null);
        tracker.open();
        try {
            VolumeService s = tracker.waitForService(30_000);
            assertNotNull("no VolumeService with " + filter, s);
            return s;
        } finally {
            tracker.close();
        }
    }

    private static X509Certificate certificate(String pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private interface Action {
        Object run();
    }

    private static void expectInvalid(String field, Action action) {
        try {
            action.run();
            fail("expected invalid " + field);
        } catch (InvalidInputException e) {
            assertEquals(field, e.field());
        }
    }

    private static void expectConflict(String code, Action action) {
        try {
            action.run();
            fail("expected conflict " + code);
        } catch (CairnException e) {
            assertEquals(e.getMessage(), code, e.code());
            assertEquals(CairnException.Kind.CONFLICT, e.kind());
        }
    }

    private record ProcessResult(int exit, String output) {
    }

    private static ProcessResult run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(String.join(" ", command) + " did not finish");
        }
        return new ProcessResult(p.exitValue(), out.get(5, TimeUnit.SECONDS));
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + java.util.Base64.getMimeEncoder(64, new byte[] { '\n' }).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
