package cairn.nbd.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The protocol layer against a byte-level client: negotiation, transmission, and bad input. */
public class NbdServerTest {

    static final int SIZE = 4 << 20;
    static final int MIB = 1 << 20;
    static final Limits LIMITS = new Limits(1, 4096, 1 << 20, 4, 16, 4 << 20);

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    FileCatalog catalog;
    NbdServer server;
    Path volume;
    byte[] original;
    int port;

    @Before
    public void start() throws IOException {
        volume = tmp.newFile("vol").toPath();
        original = new byte[SIZE];
        new Random(42).nextBytes(original);
        Files.write(volume, original);
        catalog = new FileCatalog();
        catalog.files.put("secret-export", volume);
        server = server(null);
        port = server.port();
    }

    NbdServer server(TlsProvider tls) throws IOException {
        return server(tls, false);
    }

    NbdServer server(TlsProvider tls, boolean unixSendfile) throws IOException {
        NbdServer s = new NbdServer(new NbdServer.Settings(new InetSocketAddress("127.0.0.1", 0),
                tmp.getRoot().toPath().resolve("run/nbd-" + System.nanoTime() + ".sock"), tls, LIMITS, 5000, 64, 0,
                unixSendfile), catalog, new ServerState());
        s.start();
        return s;
    }

    void restartWithUnixSendfile() throws IOException {
        server.stop(1000);
        server = server(null, true);
        port = server.port();
    }

    @After
    public void stop() {
        server.stop(1000);
    }

    RawClient connected() throws IOException {
        return new RawClient(port).hello();
    }

    Path unixSocket() throws IOException {
        try (var files = Files.list(tmp.getRoot().toPath().resolve("run"))) {
            return files.filter(p -> p.toString().endsWith(".sock")).findFirst().orElseThrow();
        }
    }

    RawClient transmitting(boolean structured, boolean meta) throws IOException {
        return transmitting(connected(), structured, meta);
    }

    /** {@code c} has said hello. */
    RawClient transmitting(RawClient c, boolean structured, boolean meta) throws IOException {
        if (structured) {
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
        }
        if (meta) {
            c.option(Nbd.OPT_SET_META_CONTEXT, RawClient.metaData("secret-export", Nbd.BASE_ALLOCATION));
            RawClient.OptionReply r = c.optionReply();
            assertEquals(Nbd.REP_META_CONTEXT, r.type());
            assertEquals(Nbd.BASE_ALLOCATION_ID, ByteBuffer.wrap(r.data()).getInt());
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
        }
        long[] go = c.go("secret-export");
        assertEquals(SIZE, go[0]);
        return c;
    }

    void assertVolumeUnchanged() throws IOException {
        assertArrayEquals("nothing was written", original, Files.readAllBytes(volume));
    }

    /** Another client can still open the export and read correct data. */
    void assertServerStillServes() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            c.request(0, Nbd.CMD_READ, 99, 4096, 512);
            c.out.flush();
            assertEquals(0, c.simpleReply(99));
            byte[] data = new byte[512];
            c.in.readFully(data);
            byte[] expected = new byte[512];
            ByteBuffer.wrap(Files.readAllBytes(volume), 4096, 512).get(expected);
            assertArrayEquals(expected, data);
        }
    }

    /** Polls a condition the server reaches on its own threads. */
    static void waitFor(String what, java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            java.util.concurrent.locks.LockSupport.parkNanos(10_000_000L);
        }
    }

    // ---- negotiation ---------------------------------------------------------------

    @Test
    public void goAdvertisesSizeFlagsAndBlockSizes() throws IOException {
        try (RawClient c = connected()) {
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
            c.option(Nbd.OPT_INFO, RawClient.goData("secret-export", Nbd.INFO_BLOCK_SIZE, Nbd.INFO_NAME));
            boolean sawSizes = false;
            boolean sawName = false;
            while (true) {
                RawClient.OptionReply r = c.optionReply();
                if (r.type() == Nbd.REP_ACK) {
                    break;
                }
                ByteBuffer b = ByteBuffer.wrap(r.data());
                int type = b.getShort();
                if (type == Nbd.INFO_EXPORT) {
                    assertEquals(SIZE, b.getLong());
                    int flags = b.getShort() & 0xffff;
                    int expected = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA | Nbd.FLAG_SEND_TRIM
                            | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO | Nbd.FLAG_SEND_DF;
                    assertEquals("no CAN_MULTI_CONN, no READ_ONLY", expected, flags);
                } else if (type == Nbd.INFO_BLOCK_SIZE) {
                    assertEquals(1, b.getInt());
                    assertEquals(4096, b.getInt());
                    assertEquals(1 << 20, b.getInt());
                    sawSizes = true;
                } else if (type == Nbd.INFO_NAME) {
                    sawName = true;
                }
            }
            assertTrue(sawSizes);
            assertTrue(sawName);
            // the server releases the export INFO looked at right after its reply: wait for it
            org.awaitility.Awaitility.await("INFO does not keep the export open")
                    .atMost(java.time.Duration.ofSeconds(10)).until(() -> catalog.open.get() == 0);
            assertEquals(SIZE, c.go("secret-export")[0]);
        }
    }

    @Test
    public void unknownExportIsRefusedAndNegotiationContinues() throws IOException {
        try (RawClient c = connected()) {
            c.option(Nbd.OPT_GO, RawClient.goData("guess"));
            assertEquals(Nbd.REP_ERR_UNKNOWN, c.optionReply().type());
            assertEquals(SIZE, c.go("secret-export")[0]);
        }
    }

    @Test
    public void unknownOptionGetsUnsupAndNegotiationContinues() throws IOException {
        try (RawClient c = connected()) {
            c.option(4242, new byte[] { 1, 2, 3 });
            RawClient.OptionReply r = c.optionReply();
            assertEquals(4242, r.option());
            assertEquals(Nbd.REP_ERR_UNSUP, r.type());
            assertEquals(SIZE, c.go("secret-export")[0]);
        }
    }

    @Test
    public void listAndStartTlsAreRefusedInLabMode() throws IOException {
        try (RawClient c = connected()) {
            c.option(Nbd.OPT_LIST, new byte[0]);
            assertEquals("export names are secret", Nbd.REP_ERR_POLICY, c.optionReply().type());
            c.option(Nbd.OPT_STARTTLS, new byte[0]);
            assertEquals(Nbd.REP_ERR_POLICY, c.optionReply().type());
            c.option(Nbd.OPT_LIST, new byte[] { 1 });
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
        }
    }

    @Test
    public void malformedOptionsGetInvalid() throws IOException {
        try (RawClient c = connected()) {
            // name length larger than the option
            c.option(Nbd.OPT_GO, ByteBuffer.allocate(6).putInt(1000).putShort((short) 0).array());
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // information request count does not match
            c.option(Nbd.OPT_GO, ByteBuffer.allocate(7).putInt(1).put((byte) 'x').putShort((short) 5).array());
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // meta context before structured replies
            c.option(Nbd.OPT_SET_META_CONTEXT, RawClient.metaData("secret-export", Nbd.BASE_ALLOCATION));
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[] { 0 });
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            // not UTF-8
            c.option(Nbd.OPT_GO, ByteBuffer.allocate(8).putInt(2).put((byte) 0xC3).put((byte) 0x28).putShort((short) 0)
                    .array());
            assertEquals(Nbd.REP_ERR_INVALID, c.optionReply().type());
            assertEquals(SIZE, c.go("secret-export")[0]);
        }
    }

    @Test
    public void listMetaContextsOffersBaseAllocation() throws IOException {
        try (RawClient c = connected()) {
            c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
            c.option(Nbd.OPT_LIST_META_CONTEXT, RawClient.metaData("secret-export"));
            RawClient.OptionReply r = c.optionReply();
            assertEquals(Nbd.REP_META_CONTEXT, r.type());
            assertEquals(Nbd.BASE_ALLOCATION, new String(r.data(), 4, r.data().length - 4));
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
            c.option(Nbd.OPT_SET_META_CONTEXT, RawClient.metaData("secret-export", "other:thing"));
            assertEquals("nothing selected", Nbd.REP_ACK, c.optionReply().type());
        }
    }

    @Test
    public void unknownClientFlagsCloseTheConnection() throws IOException {
        try (RawClient c = new RawClient(port).hello(Nbd.FLAG_C_FIXED_NEWSTYLE | 0x80)) {
            assertTrue(c.closedByServer());
        }
        try (RawClient c = new RawClient(port).hello(0)) {
            assertTrue("old newstyle is not served", c.closedByServer());
        }
        assertServerStillServes();
    }

    @Test
    public void truncatedHandshakesAndBadMagicCloseOnlyThatConnection() throws IOException {
        try (RawClient c = new RawClient(port)) {
            c.in.readFully(new byte[18]);
            c.out.write(new byte[] { 0, 0 }); // half the client flags, then gone
            c.out.flush();
        }
        try (RawClient c = connected()) {
            c.out.writeLong(0x1122334455667788L);
            c.out.writeInt(Nbd.OPT_GO);
            c.out.writeInt(0);
            c.out.flush();
            assertTrue("bad option magic", c.closedByServer());
        }
        try (RawClient c = connected()) {
            c.out.writeLong(Nbd.IHAVEOPT);
            c.out.writeInt(Nbd.OPT_GO);
            c.out.writeInt(Integer.MAX_VALUE);
            c.out.flush();
            assertTrue("oversized option", c.closedByServer());
        }
        try (RawClient c = connected()) {
            c.option(Nbd.OPT_EXPORT_NAME, "guess".getBytes());
            assertTrue("EXPORT_NAME of an unknown export cannot be answered: closed", c.closedByServer());
        }
        try (RawClient c = connected()) {
            c.option(Nbd.OPT_ABORT, new byte[0]);
            assertEquals(Nbd.REP_ACK, c.optionReply().type());
            assertTrue(c.closedByServer());
        }
        assertServerStillServes();
        waitFor("every opened export closed again", () -> catalog.open.get() == 0);
    }

    @Test
    public void exportNameEntersTransmissionWithoutZeroPadding() throws IOException {
        try (RawClient c = connected()) {
            c.option(Nbd.OPT_EXPORT_NAME, "secret-export".getBytes());
            assertEquals(SIZE, c.in.readLong());
            int flags = c.in.readUnsignedShort();
            assertEquals("no DF without structured replies", 0, flags & Nbd.FLAG_SEND_DF);
            c.request(0, Nbd.CMD_READ, 5, 0, 8);
            c.out.flush();
            assertEquals(0, c.simpleReply(5));
            byte[] b = new byte[8];
            c.in.readFully(b);
            assertArrayEquals(java.util.Arrays.copyOf(original, 8), b);
        }
    }

    @Test
    public void tlsRequiredRefusesEverythingButStartTls() throws IOException {
        NbdServer tlsServer = server(() -> {
            throw new IOException("no TLS material in this test");
        });
        try (RawClient c = new RawClient(tlsServer.port()).hello()) {
            c.option(Nbd.OPT_GO, RawClient.goData("secret-export"));
            assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
            c.option(Nbd.OPT_LIST, new byte[0]);
            assertEquals(Nbd.REP_ERR_TLS_REQD, c.optionReply().type());
            c.option(Nbd.OPT_EXPORT_NAME, "secret-export".getBytes());
            assertTrue(c.closedByServer());
        } finally {
            tlsServer.stop(1000);
        }
    }

    // ---- transmission --------------------------------------------------------------

    @Test
    public void writeThenReadBackWithFuaFlushTrimAndZeroes() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            byte[] data = new byte[8192];
            new Random(7).nextBytes(data);
            c.request(Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 1, 12345, data.length);
            c.out.write(data);
            c.request(0, Nbd.CMD_FLUSH, 2, 0, 0);
            c.request(0, Nbd.CMD_WRITE_ZEROES, 3, 1 << 20, 65536);
            c.request(0, Nbd.CMD_TRIM, 4, 2 << 20, 4096);
            c.request(Nbd.CMD_FLAG_FAST_ZERO, Nbd.CMD_WRITE_ZEROES, 5, 0, 4096);
            c.out.flush();
            Set<Long> ok = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                RawClient.Chunk r = c.anyReply();
                if (r.handle() == 5) {
                    assertEquals("FAST_ZERO refused when zeroing is slow", Nbd.ENOTSUP, r.error());
                } else {
                    assertEquals(0, r.error());
                    ok.add(r.handle());
                }
            }
            assertEquals(Set.of(1L, 2L, 3L, 4L), ok);
            c.request(0, Nbd.CMD_READ, 6, 12345, data.length);
            c.out.flush();
            assertEquals(0, c.simpleReply(6));
            byte[] back = new byte[data.length];
            c.in.readFully(back);
            assertArrayEquals(data, back);
        }
        byte[] now = Files.readAllBytes(volume);
        for (int i = 1 << 20; i < (1 << 20) + 65536; i++) {
            assertEquals(0, now[i]);
        }
        assertEquals("outside the writes nothing changed", original[SIZE - 1], now[SIZE - 1]);
    }

    @Test
    public void structuredReadsAndBlockStatus() throws IOException {
        try (RawClient c = transmitting(true, true)) {
            c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 10, 4096, 1024);
            c.out.flush();
            RawClient.Chunk r = c.anyReply();
            assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, r.type());
            assertEquals(Nbd.REPLY_FLAG_DONE, r.flags());
            ByteBuffer p = ByteBuffer.wrap(r.payload());
            assertEquals(4096, p.getLong());
            byte[] data = new byte[1024];
            p.get(data);
            assertArrayEquals(java.util.Arrays.copyOfRange(original, 4096, 4096 + 1024), data);

            c.request(0, Nbd.CMD_WRITE_ZEROES, 14, 0, 512 * 1024);
            c.out.flush();
            assertEquals(0, c.anyReply().error());
            c.request(0, Nbd.CMD_BLOCK_STATUS, 11, 0, 1 << 20);
            c.out.flush();
            r = c.anyReply();
            assertEquals(Nbd.REPLY_TYPE_BLOCK_STATUS, r.type());
            p = ByteBuffer.wrap(r.payload());
            assertEquals(Nbd.BASE_ALLOCATION_ID, p.getInt());
            assertEquals(512 * 1024, p.getInt());
            assertEquals(Nbd.STATE_ZERO, p.getInt());
            assertEquals(512 * 1024, p.getInt());
            assertEquals(0, p.getInt());

            c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 12, 0, 1 << 20);
            c.out.flush();
            r = c.anyReply();
            assertEquals("one descriptor", 4 + 8, r.payload().length);

            c.request(0, Nbd.CMD_READ, 13, SIZE, 1);
            c.out.flush();
            r = c.anyReply();
            assertEquals("read errors are structured", Nbd.REPLY_TYPE_ERROR, r.type());
            assertEquals(Nbd.EINVAL, r.error());
        }
    }

    @Test
    public void largeReadsLeaveStraightFromThePageCache() throws IOException {
        try (RawClient c = transmitting(true, false)) {
            FileExport export = readMiB(c, 1, 4096);
            assertEquals("over TCP no sendfile (it costs the client more)", 0, export.regionsSent.get());
            assertEquals("over TCP the data is written from mapped memory", 1, export.mappedRegions.get());
            // where the engine offers no mapping (data not in the page cache), it is read and copied
            export.offerMapped = false;
            readMiB(c, 4, SIZE - MIB);
            assertEquals(1, export.mappedRegions.get());
        }
        try (RawClient c = transmitting(new RawClient(unixSocket()).hello(), true, false)) {
            FileExport export = readMiB(c, 2, 4096);
            assertEquals("the unix socket too writes from mapped memory", 1, export.mappedRegions.get());
            assertEquals("no sendfile unless chosen", 0, export.regionsSent.get());
        }
    }

    @Test
    public void largeCachedReadsRunOnOneSenderThreadAndUncachedOnesOnTheWorkers() throws IOException {
        int length = MIB;
        try (RawClient c = transmitting(true, false)) {
            FileExport export = catalog.opened.get("secret-export");
            for (boolean cached : new boolean[] { true, false }) {
                export.offerMapped = cached;
                export.largeReaders.clear();
                for (int i = 0; i < 4; i++) {
                    c.request(0, Nbd.CMD_READ, i, (long) i * length, length);
                }
                c.out.flush();
                Set<Long> answered = new HashSet<>();
                for (int i = 0; i < 4; i++) {
                    RawClient.Chunk r = c.anyReply();
                    assertOffsetData(r, r.handle(), r.handle() * length, length);
                    answered.add(r.handle());
                }
                assertEquals(4, answered.size());
                if (cached) {
                    assertEquals("in the page cache: one sender thread", 1, export.largeReaders.size());
                    assertTrue(export.largeReaders.toString(), export.largeReaders.iterator().next().endsWith("-s"));
                } else {
                    assertFalse("not cached: the workers", export.largeReaders.isEmpty());
                    for (String t : export.largeReaders) {
                        assertTrue(t, t.matches(".*-w\\d+"));
                    }
                }
            }
        }
    }

    @Test
    public void largeReadsOnTheUnixSocketLeaveBySendfileWhereChosen() throws IOException {
        restartWithUnixSendfile();
        int length = MIB;
        try (RawClient c = transmitting(true, false)) {
            FileExport export = readMiB(c, 1, 4096);
            assertEquals("never over TCP", 0, export.regionsSent.get());
            assertEquals(1, export.mappedRegions.get());
        }
        try (RawClient c = transmitting(new RawClient(unixSocket()).hello(), true, false)) {
            FileExport export = readMiB(c, 2, 4096);
            waitFor("the structured reply's data sent from the file", () -> export.regionsSent.get() == 1);
            assertEquals("the unix socket sends from the file (sendfile), not from a mapping", 0,
                    export.mappedRegions.get());
        }
        try (RawClient c = transmitting(new RawClient(unixSocket()).hello(), false, false)) {
            c.request(0, Nbd.CMD_READ, 3, SIZE - length, length);
            c.out.flush();
            assertEquals(0, c.simpleReply(3));
            byte[] data = new byte[length];
            c.in.readFully(data);
            assertArrayEquals(java.util.Arrays.copyOfRange(original, SIZE - length, SIZE), data);
            FileExport export = catalog.opened.get("secret-export");
            waitFor("the simple reply's data sent from the file", () -> export.regionsSent.get() == 1);
        }
    }

    /** Reads 1 MiB at {@code offset} (structured reply), checks it, and returns the export that served it. */
    private FileExport readMiB(RawClient c, long handle, long offset) throws IOException {
        c.request(0, Nbd.CMD_READ, handle, offset, MIB);
        c.out.flush();
        assertOffsetData(c.anyReply(), handle, offset, MIB);
        return catalog.opened.get("secret-export");
    }

    private void assertOffsetData(RawClient.Chunk r, long handle, long offset, int length) {
        assertEquals(Nbd.REPLY_TYPE_OFFSET_DATA, r.type());
        assertEquals(handle, r.handle());
        ByteBuffer p = ByteBuffer.wrap(r.payload());
        assertEquals(offset, p.getLong());
        byte[] data = new byte[length];
        p.get(data);
        assertArrayEquals(java.util.Arrays.copyOfRange(original, (int) offset, (int) offset + length), data);
    }

    @Test
    public void aReadReplyCutShortEndsItsConnectionOnly() throws IOException {
        restartWithUnixSendfile();
        int length = 1 << 20;
        try (RawClient c = transmitting(new RawClient(unixSocket()).hello(), false, false)) {
            catalog.opened.get("secret-export").breakRegions = true;
            c.request(0, Nbd.CMD_READ, 1, 0, length);
            c.out.flush();
            // the header and half the data had left: no error reply can follow, the stream ends
            assertEquals(0, c.simpleReply(1));
            byte[] data = new byte[length];
            try {
                c.in.readFully(data);
                throw new AssertionError("a reply cut short must end the connection");
            } catch (IOException expected) {
                // closed after the part that left
            }
        }
        assertServerStillServes();
    }

    @Test
    public void blockStatusNeedsAMetaContext() throws IOException {
        try (RawClient c = transmitting(true, false)) {
            c.request(0, Nbd.CMD_BLOCK_STATUS, 1, 0, 4096);
            c.out.flush();
            assertEquals(Nbd.EINVAL, c.anyReply().error());
        }
    }

    @Test
    public void manyRequestsInFlightAreAllAnswered() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            int n = 200;
            for (int i = 0; i < n; i++) {
                c.request(0, Nbd.CMD_READ, 1000 + i, (long) i * 4096, 4096);
            }
            c.out.flush();
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < n; i++) {
                long handle;
                assertEquals(Nbd.SIMPLE_REPLY_MAGIC, c.in.readInt());
                assertEquals(0, c.in.readInt());
                handle = c.in.readLong();
                byte[] data = new byte[4096];
                c.in.readFully(data);
                int index = (int) (handle - 1000);
                assertArrayEquals(java.util.Arrays.copyOfRange(original, index * 4096, index * 4096 + 4096), data);
                assertTrue(seen.add(handle));
            }
            assertEquals(n, seen.size());
        }
    }

    @Test
    public void readsAndWritesPastTheEndFailAndWriteNothing() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            c.request(0, Nbd.CMD_READ, 1, SIZE - 100, 200);
            c.out.flush();
            assertEquals(Nbd.EINVAL, c.simpleReply(1));
            c.request(0, Nbd.CMD_WRITE, 2, SIZE - 100, 200);
            c.out.write(new byte[200]);
            c.out.flush();
            assertEquals(Nbd.ENOSPC, c.simpleReply(2));
            c.request(0, Nbd.CMD_WRITE, 3, -4096L, 512);
            c.out.write(new byte[512]);
            c.out.flush();
            assertEquals("offsets above 2^63 are past the end", Nbd.ENOSPC, c.simpleReply(3));
            c.request(0, Nbd.CMD_WRITE_ZEROES, 4, SIZE - 4096, 8192);
            c.out.flush();
            assertEquals(Nbd.ENOSPC, c.simpleReply(4));
            c.request(0, Nbd.CMD_TRIM, 5, SIZE, 1);
            c.out.flush();
            assertEquals(Nbd.EINVAL, c.simpleReply(5));
            c.request(0, Nbd.CMD_READ, 6, 0, (1 << 20) + 1);
            c.out.flush();
            assertEquals("above the advertised maximum", Nbd.EOVERFLOW, c.simpleReply(6));
            c.request(0x40, Nbd.CMD_READ, 7, 0, 1);
            c.out.flush();
            assertEquals("unknown flag", Nbd.EINVAL, c.simpleReply(7));
            c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 8, 0, 1);
            c.out.flush();
            assertEquals("DF without structured replies", Nbd.EINVAL, c.simpleReply(8));
            c.request(0, 77, 9, 0, 0);
            c.out.flush();
            assertEquals("unknown command", Nbd.EINVAL, c.simpleReply(9));
            c.request(0, Nbd.CMD_FLUSH, 10, 1, 0);
            c.out.flush();
            assertEquals(Nbd.EINVAL, c.simpleReply(10));
            c.request(Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE, 11, 0, 1);
            c.out.write(1);
            c.out.flush();
            assertEquals("NO_HOLE applies to WRITE_ZEROES only", Nbd.EINVAL, c.simpleReply(11));
            // still in sync after all of that
            c.request(0, Nbd.CMD_READ, 12, 0, 4);
            c.out.flush();
            assertEquals(0, c.simpleReply(12));
            c.in.readFully(new byte[4]);
        }
        assertVolumeUnchanged();
    }

    @Test
    public void oversizedWriteIsRefusedAndClosesTheConnection() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            c.request(0, Nbd.CMD_WRITE, 1, 0, (1 << 20) + 4096);
            c.out.write(new byte[8192]);
            c.out.flush();
            assertEquals(Nbd.EOVERFLOW, c.simpleReply(1));
            assertTrue(c.closedByServer());
        }
        assertVolumeUnchanged();
        assertServerStillServes();
    }

    @Test
    public void garbageAfterARequestHeaderClosesTheConnectionAndWritesNothing() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            c.request(0, Nbd.CMD_READ, 1, 0, 16);
            byte[] garbage = new byte[64];
            new Random(3).nextBytes(garbage);
            c.out.write(garbage);
            c.out.flush();
            assertEquals(0, c.simpleReply(1));
            c.in.readFully(new byte[16]);
            assertTrue(c.closedByServer());
        }
        assertVolumeUnchanged();
        assertServerStillServes();
    }

    @Test
    public void disconnectAnswersWhatIsInFlightFirst() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            for (int i = 0; i < 10; i++) {
                c.request(0, Nbd.CMD_READ, i, 0, 65536);
            }
            c.request(0, Nbd.CMD_DISC, 99, 0, 0);
            c.out.flush();
            for (int i = 0; i < 10; i++) {
                assertEquals(Nbd.SIMPLE_REPLY_MAGIC, c.in.readInt());
                assertEquals(0, c.in.readInt());
                c.in.readLong();
                c.in.readFully(new byte[65536]);
            }
            assertTrue(c.closedByServer());
        }
    }

    @Test
    public void unixSocketServesTheSameExports() throws Exception {
        Path sock = unixSocket();
        try (var ch = java.nio.channels.SocketChannel.open(java.net.UnixDomainSocketAddress.of(sock))) {
            ByteBuffer hello = ByteBuffer.allocate(18);
            while (hello.hasRemaining()) {
                ch.read(hello);
            }
            assertEquals(Nbd.NBDMAGIC, hello.getLong(0));
        }
        assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(sock)));
    }

    @Test
    public void fencingClosesTheConnection() throws IOException {
        try (RawClient c = transmitting(false, false)) {
            FileExport export = catalog.opened.get("secret-export");
            waitFor("session listens for fencing", () -> export.fenced != null);
            export.fenced.accept("test fence");
            assertTrue(c.closedByServer());
        }
        assertFalse(server.state().stopping());
    }

    @Test
    public void healthReportsListening() throws IOException {
        assertTrue(server.listening());
        server.stop(100);
        assertFalse(server.listening());
        server = server(null);
    }
}
