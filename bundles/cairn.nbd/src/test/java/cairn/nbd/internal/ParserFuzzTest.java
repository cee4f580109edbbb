package cairn.nbd.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Randomized, seeded and bounded runs over the negotiation and request parsers. The
 * export is read-only, so any accepted write would show as an error; the properties:
 * every request gets a well-formed reply with its own handle and a protocol error value,
 * the server closes only when the stream can no longer be framed, nothing is written,
 * and the server keeps serving other clients.
 */
public class ParserFuzzTest {

    static final long SEED = Long.getLong("cairn.fuzz.seed", 20261130L);
    static final int SIZE = 1 << 20;
    static final int MAX = 64 * 1024;
    static final Set<Integer> ERRORS = Set.of(0, Nbd.EPERM, Nbd.EIO, Nbd.EINVAL, Nbd.ENOSPC, Nbd.EOVERFLOW,
            Nbd.ENOTSUP, Nbd.ESHUTDOWN);

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
        new Random(SEED).nextBytes(original);
        Files.write(volume, original);
        catalog = new FileCatalog();
        catalog.readOnly = true;
        catalog.files.put("x", volume);
        server = new NbdServer(new NbdServer.Settings(new InetSocketAddress("127.0.0.1", 0), null, null,
                new Limits(1, 4096, MAX, 2, 8, 4 * MAX), 5000, 64), catalog, new ServerState());
        server.start();
        port = server.port();
    }

    @After
    public void stop() {
        server.stop(1000);
    }

    @Test
    public void randomNegotiationBytesNeverBreakTheServer() throws Exception {
        Random r = new Random(SEED);
        for (int i = 0; i < 150; i++) {
            try (RawClient c = new RawClient(port)) {
                c.in.readFully(new byte[18]);
                ByteBuffer b = ByteBuffer.allocate(4096);
                if (r.nextInt(4) != 0) {
                    b.putInt(r.nextInt(8) == 0 ? r.nextInt() : Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
                }
                int frames = r.nextInt(5);
                for (int f = 0; f < frames && b.remaining() > 100; f++) {
                    b.putLong(r.nextInt(10) == 0 ? r.nextLong() : Nbd.IHAVEOPT);
                    int option = r.nextInt(3) == 0 ? r.nextInt() : r.nextInt(12);
                    if (option == Nbd.OPT_GO || option == Nbd.OPT_EXPORT_NAME) {
                        option = Nbd.OPT_INFO; // stay in negotiation
                    }
                    b.putInt(option);
                    int length = r.nextInt(60);
                    b.putInt(r.nextInt(10) == 0 ? r.nextInt() : length);
                    byte[] data = new byte[length];
                    r.nextBytes(data);
                    if (length >= 4 && r.nextBoolean()) {
                        ByteBuffer.wrap(data).putInt(r.nextInt(length));
                    }
                    b.put(data);
                }
                c.out.write(b.array(), 0, b.position());
                c.out.flush();
                drainBriefly(c);
            }
        }
        assertStillServes();
        NbdServerTest.waitFor("every export opened by INFO was closed", () -> catalog.open.get() == 0);
    }

    private static void drainBriefly(RawClient c) throws IOException {
        c.socket.setSoTimeout(50);
        try {
            while (c.in.read() >= 0) {
                // option replies or close
            }
        } catch (java.net.SocketTimeoutException | SocketException e) {
            // still negotiating, or reset
        }
    }

    @Test
    public void randomRequestsGetProtocolErrorsAndWriteNothing() throws Exception {
        Random r = new Random(SEED + 1);
        int requests = 0;
        for (int conn = 0; conn < 60; conn++) {
            boolean structured = r.nextBoolean();
            try (RawClient c = new RawClient(port).hello()) {
                if (structured) {
                    c.option(Nbd.OPT_STRUCTURED_REPLY, new byte[0]);
                    assertEquals(Nbd.REP_ACK, c.optionReply().type());
                    if (r.nextBoolean()) {
                        c.option(Nbd.OPT_SET_META_CONTEXT, RawClient.metaData("x", Nbd.BASE_ALLOCATION));
                        c.optionReply();
                        c.optionReply();
                    }
                }
                assertEquals(SIZE, c.go("x")[0]);
                for (int i = 0; i < 100; i++, requests++) {
                    if (!oneRequest(c, r, structured, i)) {
                        break;
                    }
                }
            }
        }
        assertTrue("requests sent: " + requests, requests > 500);
        assertArrayEquals("nothing was written", original, Files.readAllBytes(volume));
        assertStillServes();
    }

    /** @return false when the server (rightly) closed the connection */
    private boolean oneRequest(RawClient c, Random r, boolean structured, long handle) throws IOException {
        int[] types = { Nbd.CMD_READ, Nbd.CMD_WRITE, Nbd.CMD_FLUSH, Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES,
                Nbd.CMD_BLOCK_STATUS, 5, 8, r.nextInt(0x10000) };
        int type = types[r.nextInt(types.length)];
        if (type == Nbd.CMD_DISC) {
            type = Nbd.CMD_READ;
        }
        int flags = r.nextBoolean() ? 0 : r.nextInt(0x10000);
        long[] offsets = { 0, r.nextInt(SIZE), SIZE - r.nextInt(4096), SIZE, r.nextLong() };
        long offset = offsets[r.nextInt(offsets.length)];
        long[] lengths = { 0, r.nextInt(4096), r.nextInt(MAX + 1), MAX + 1 + r.nextInt(1000),
                Integer.toUnsignedLong(r.nextInt()) };
        long length = lengths[r.nextInt(lengths.length)];
        boolean badMagic = r.nextInt(40) == 0;

        c.out.writeInt(badMagic ? r.nextInt() | 1 : Nbd.REQUEST_MAGIC);
        c.out.writeShort(flags);
        c.out.writeShort(type);
        c.out.writeLong(handle);
        c.out.writeLong(offset);
        c.out.writeInt((int) length);
        boolean oversizedWrite = !badMagic && type == Nbd.CMD_WRITE && length > MAX;
        if (type == Nbd.CMD_WRITE && !oversizedWrite) {
            byte[] payload = new byte[(int) length];
            r.nextBytes(payload);
            c.out.write(payload);
        }
        c.out.flush();
        if (badMagic) {
            assertTrue("bad magic closes the connection", c.closedByServer());
            return false;
        }
        RawClient.Chunk reply;
        try {
            reply = readReply(c, type, length);
        } catch (EOFException | SocketException e) {
            fail("server closed on a framed request: type " + type + " flags " + flags + " offset " + offset
                    + " length " + length);
            return false;
        }
        assertEquals(handle, reply.handle());
        int error = reply.error();
        assertTrue("error value " + error, ERRORS.contains(error));
        if (type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES) {
            assertTrue("a write-like request on a read-only export must fail", error != 0);
        }
        if (oversizedWrite) {
            assertEquals(Nbd.EOVERFLOW, error);
            assertTrue(c.closedByServer());
            return false;
        }
        return true;
    }

    /** Reads one complete reply; a successful READ's data is consumed too. Error 0 means success. */
    private RawClient.Chunk readReply(RawClient c, int type, long length) throws IOException {
        RawClient.Chunk chunk = c.anyReply();
        if (chunk.type() == -1) {
            if (chunk.error() == 0 && type == Nbd.CMD_READ) {
                c.in.readFully(new byte[(int) length]);
            }
            return chunk;
        }
        assertEquals("one chunk per reply", Nbd.REPLY_FLAG_DONE, chunk.flags());
        if ((chunk.type() & 0x8000) != 0) {
            return chunk;
        }
        return new RawClient.Chunk(chunk.flags(), chunk.type(), chunk.handle(), new byte[4]);
    }

    private void assertStillServes() throws IOException {
        try (RawClient c = new RawClient(port).hello()) {
            assertEquals(SIZE, c.go("x")[0]);
            c.request(0, Nbd.CMD_READ, 1, 100, 100);
            c.out.flush();
            assertEquals(0, c.simpleReply(1));
            byte[] b = new byte[100];
            c.in.readFully(b);
            assertArrayEquals(java.util.Arrays.copyOfRange(original, 100, 200), b);
        }
    }
}
