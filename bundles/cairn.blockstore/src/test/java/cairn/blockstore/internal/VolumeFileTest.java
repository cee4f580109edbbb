package cairn.blockstore.internal;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.derby.jdbc.EmbeddedDataSource;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import cairn.blockstore.api.Extent;
import cairn.blockstore.api.VolumeState;

/**
 * The data path against a model: random writes, trims and zeroes at random offsets and
 * lengths must read back exactly as a plain byte array says, extents must never call a
 * block with data a hole, and the record of changed blocks must survive a crash (the object
 * abandoned without closing, as a killed process leaves it: page cache intact).
 */
public class VolumeFileTest {

    private static final AtomicInteger DB = new AtomicInteger();
    private static final int BLOCK = VolumeFile.BLOCK;

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final MappedData.Budget budget = new MappedData.Budget(4L << 30);
    private EmbeddedDataSource ds;
    private Store store;
    private Path dir;

    @Before
    public void setUp() throws Exception {
        ds = new EmbeddedDataSource();
        ds.setDatabaseName("memory:vf" + DB.incrementAndGet());
        ds.setCreateDatabase("create");
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
                InputStream in = getClass().getResourceAsStream("/db/blockstore/V1__volumes_attachments.sql")) {
            String script = new String(in.readAllBytes(), StandardCharsets.UTF_8).replaceAll("(?m)^--.*$", "");
            for (String sql : script.split(";")) {
                if (!sql.isBlank()) {
                    st.execute(sql);
                }
            }
        }
        store = new Store(ds);
        dir = tmp.newFolder("volumes").toPath();
    }

    @After
    public void tearDown() {
        ds.setShutdownDatabase("shutdown");
        try (Connection c = ds.getConnection()) {
            // shutting down answers with an exception
        } catch (Exception expected) {
            // expected
        }
    }

    private VolumeFile create(String id, long size) throws IOException {
        store.insertVolume(new Store.VolumeRow(id, id, "acme", size, VolumeState.AVAILABLE, 0, 1, Instant.now()));
        return VolumeFile.create(dir, id, size, 1, store, budget);
    }

    @Test
    public void randomOperationsMatchAModel() throws Exception {
        long size = 3 * BLOCK * 16 + 4096 * 3; // not a multiple of the block: a short last block
        byte[] model = new byte[(int) size];
        Random random = new Random(42);
        try (VolumeFile v = create("vol-model", size)) {
            for (int i = 0; i < 3000; i++) {
                int op = random.nextInt(10);
                int off = random.nextInt((int) size);
                int len = Math.min((int) size - off, random.nextInt(4) == 0 ? random.nextInt(4 * BLOCK) : random.nextInt(9000));
                if (op < 6) {
                    byte[] data = new byte[len];
                    random.nextBytes(data);
                    v.write(off, random.nextBoolean() ? ByteBuffer.wrap(data) : direct(data));
                    System.arraycopy(data, 0, model, off, len);
                } else if (op < 9) {
                    boolean noHole = random.nextBoolean();
                    if (random.nextBoolean()) {
                        // block-aligned ranges exercise the metadata-only path
                        off = off / BLOCK * BLOCK;
                        len = Math.min((int) size - off, (1 + random.nextInt(3)) * BLOCK);
                    }
                    v.zero(off, len, noHole);
                    Arrays.fill(model, off, off + len, (byte) 0);
                } else {
                    v.flush();
                }
                if (i % 100 == 0) {
                    assertMatches(v, model);
                }
            }
            assertMatches(v, model);
        }
        try (VolumeFile reopened = VolumeFile.open(dir, "vol-model", size, 1, store, budget)) {
            assertMatches(reopened, model);
        }
    }

    private static void assertMatches(VolumeFile v, byte[] model) throws IOException {
        ByteBuffer all = ByteBuffer.allocate(model.length);
        v.read(0, all);
        assertArrayEquals(model, all.array());
        // what the mapping offers (ranges in the page cache, no trimmed block) reads the same
        Random random = new Random(model.length);
        for (int i = 0; i < 50; i++) {
            int off = random.nextInt(model.length);
            int len = 1 + random.nextInt(Math.min(model.length - off, 3 * BLOCK));
            ByteBuffer m = v.mapped(off, len);
            if (m != null) {
                byte[] got = new byte[len];
                m.duplicate().get(got);
                assertArrayEquals("mapped " + off + "+" + len, Arrays.copyOfRange(model, off, off + len), got);
            }
        }
        long pos = 0;
        for (Extent e : v.blockStatus(0, model.length)) {
            assertEquals("extents are contiguous", pos, e.offset());
            if (e.zero()) {
                for (long i = e.offset(); i < e.offset() + e.length(); i++) {
                    assertEquals("a zero extent reads zero at " + i, 0, model[(int) i]);
                }
            }
            pos += e.length();
        }
        assertEquals(model.length, pos);
    }

    @Test
    public void changedBlocksSurviveACrashBeforeAnyFlush() throws Exception {
        VolumeFile v = create("vol-crash", 64L * BLOCK);
        v.write(3L * BLOCK + 10, ByteBuffer.wrap(new byte[] { 1 }));
        v.write(40L * BLOCK, ByteBuffer.wrap(new byte[100]));
        v.zero(7L * BLOCK, 10, true);
        assertEquals("nothing recorded yet", 0, store.changedAfter("vol-crash", 0).length);
        // Crash: no flush, no close. The mapped block map is in the page cache, as after kill -9.
        VolumeFile after = VolumeFile.open(dir, "vol-crash", 64L * BLOCK, 1, store, budget);
        assertArrayEquals(new long[] { 3, 7, 40 }, store.changedAfter("vol-crash", 0));
        ByteBuffer b = ByteBuffer.allocate(1);
        after.read(3L * BLOCK + 10, b);
        assertEquals(1, b.get(0));
        after.close();
    }

    @Test
    public void flushRecordsChangesAndGenerationsSeparateThem() throws Exception {
        try (VolumeFile v = create("vol-gen", 16L * BLOCK)) {
            v.write(0, ByteBuffer.wrap(new byte[] { 1 }));
            v.flush();
            assertArrayEquals(new long[] { 0 }, store.changedAfter("vol-gen", 0));
            v.io.writeLock().lock();
            long closed;
            try {
                closed = v.cutGeneration();
            } finally {
                v.io.writeLock().unlock();
            }
            assertEquals(1, closed);
            assertEquals(2, store.volume("vol-gen").orElseThrow().generation());
            v.write(5L * BLOCK, ByteBuffer.wrap(new byte[] { 2 }));
            v.write(0, ByteBuffer.wrap(new byte[] { 3 }));
            v.flush();
            assertArrayEquals(new long[] { 0, 5 }, store.changedAfter("vol-gen", closed));
            assertEquals(0, store.changedAfter("vol-gen", 2).length);
        }
    }

    @Test
    public void regionsSendTheFileUnlessTrimmedAndCloseWaitsForThem() throws Exception {
        VolumeFile v = create("vol-send", 4L * BLOCK);
        try {
            byte[] data = new byte[2 * BLOCK];
            new Random(3).nextBytes(data);
            v.write(BLOCK, ByteBuffer.wrap(data));
            assertTrue(v.sendable(BLOCK, data.length));
            Path out = tmp.newFile("sent").toPath();
            try (java.nio.channels.FileChannel target = java.nio.channels.FileChannel.open(out,
                    java.nio.file.StandardOpenOption.WRITE)) {
                v.sendTo(BLOCK + 100, data.length - 200, target);
            }
            assertArrayEquals(Arrays.copyOfRange(data, 100, data.length - 100), Files.readAllBytes(out));

            v.zero(2L * BLOCK, BLOCK, false);
            assertFalse("a trimmed block reads zeros whatever the file holds", v.sendable(BLOCK, data.length));
            assertTrue(v.sendable(BLOCK, BLOCK));

            v.pin();
            java.util.concurrent.CompletableFuture<Void> closed = java.util.concurrent.CompletableFuture.runAsync(() -> {
                v.io.writeLock().lock();
                try {
                    v.close();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                } finally {
                    v.io.writeLock().unlock();
                }
            });
            // close is waiting for the pinned region (timed wait on its monitor), not done
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> v.data().isOpen() && !closed.isDone() && waitingForSends());
            assertTrue(v.data().isOpen());
            v.unpin();
            closed.get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertFalse(v.data().isOpen());
        } finally {
            if (v.data().isOpen()) {
                v.close();
            }
        }
    }

    /** Some thread waits in VolumeFile.awaitSends. */
    private static boolean waitingForSends() {
        return Thread.getAllStackTraces().entrySet().stream()
                .anyMatch(e -> e.getKey().getState() == Thread.State.TIMED_WAITING && Arrays.stream(e.getValue())
                        .anyMatch(f -> f.getMethodName().equals("awaitSends")));
    }

    @Test
    public void growKeepsDataAndNewSpaceReadsZero() throws Exception {
        try (VolumeFile v = create("vol-grow", 2L * BLOCK + 4096)) {
            byte[] data = new byte[4096];
            new Random(1).nextBytes(data);
            v.write(2L * BLOCK, ByteBuffer.wrap(data));
            v.io.writeLock().lock();
            try {
                v.grow(8L * BLOCK);
            } finally {
                v.io.writeLock().unlock();
            }
            ByteBuffer back = ByteBuffer.allocate(4096);
            v.read(2L * BLOCK, back);
            assertArrayEquals(data, back.array());
            ByteBuffer fresh = ByteBuffer.allocate(BLOCK);
            v.read(5L * BLOCK, fresh);
            assertArrayEquals(new byte[BLOCK], fresh.array());
            List<Extent> extents = v.blockStatus(3L * BLOCK, 5L * BLOCK);
            assertEquals(List.of(new Extent(3L * BLOCK, 5L * BLOCK, true, true)), extents);
        }
    }

    @Test
    public void canZeroFastOnlyWhenNoBytesMustBeWritten() throws Exception {
        try (VolumeFile v = create("vol-fast", 4L * BLOCK)) {
            assertTrue(v.canZeroFast(100, 500, false));
            v.write(0, ByteBuffer.wrap(new byte[] { 1 }));
            assertFalse(v.canZeroFast(100, 500, false));
            assertTrue(v.canZeroFast(0, BLOCK, false));
            assertFalse(v.canZeroFast(0, BLOCK, true));
        }
    }

    /**
     * Writers change their own regions concurrently while views open and close: each view
     * must read exactly the bytes of the moment it opened, however much changed since.
     */
    @Test
    public void viewsStayExactUnderConcurrentWrites() throws Exception {
        int writers = 4;
        int regionBlocks = 8;
        long size = (long) writers * regionBlocks * BLOCK;
        byte[] model = new byte[(int) size];
        try (VolumeFile v = create("vol-cow", size)) {
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(writers);
            List<java.util.concurrent.Future<?>> running = new java.util.ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int base = w * regionBlocks * BLOCK;
                long seed = w;
                running.add(pool.submit(() -> {
                    Random random = new Random(seed);
                    while (!stop.get()) {
                        int off = base + random.nextInt(regionBlocks * BLOCK);
                        int len = Math.min(base + regionBlocks * BLOCK - off, 1 + random.nextInt(3 * BLOCK));
                        byte[] data = new byte[len];
                        random.nextBytes(data);
                        // The model changes with the volume, under the same lock a request holds.
                        v.io.readLock().lock();
                        try {
                            if (random.nextInt(4) == 0) {
                                v.zero(off, len, random.nextBoolean());
                                synchronized (model) {
                                    Arrays.fill(model, off, off + len, (byte) 0);
                                }
                            } else {
                                v.write(off, ByteBuffer.wrap(data));
                                synchronized (model) {
                                    System.arraycopy(data, 0, model, off, len);
                                }
                            }
                        } finally {
                            v.io.readLock().unlock();
                        }
                    }
                    return null;
                }));
            }
            try {
                for (int round = 0; round < 15; round++) {
                    ViewImpl view;
                    byte[] expected;
                    v.io.writeLock().lock();
                    try {
                        view = v.openView();
                        synchronized (model) {
                            expected = model.clone();
                        }
                    } finally {
                        v.io.writeLock().unlock();
                    }
                    try {
                        ByteBuffer got = ByteBuffer.allocate((int) size);
                        view.read(0, got);
                        assertArrayEquals("view " + round + " drifted", expected, got.array());
                    } finally {
                        view.close();
                    }
                }
            } finally {
                stop.set(true);
                for (java.util.concurrent.Future<?> f : running) {
                    f.get();
                }
                pool.shutdown();
            }
        }
    }

    @Test
    public void measuresThroughput() throws Exception {
        long size = 256L << 20;
        try (VolumeFile v = create("vol-speed", size)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(4096);
            Random random = new Random(7);
            // warm: every block written once, as a long-lived volume is
            ByteBuffer big = ByteBuffer.allocateDirect(1 << 20);
            for (long off = 0; off < size; off += big.capacity()) {
                big.clear();
                v.write(off, big);
            }
            int n = 200_000;
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                buf.clear();
                v.write((long) random.nextInt((int) (size / 4096)) * 4096, buf);
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                buf.clear();
                v.read((long) random.nextInt((int) (size / 4096)) * 4096, buf);
            }
            long t2 = System.nanoTime();
            double writeIops = n / ((t1 - t0) / 1e9);
            double readIops = n / ((t2 - t1) / 1e9);
            System.out.printf("VolumeFile 4k random, one thread, page cache: write %.0f IOPS, read %.0f IOPS%n",
                    writeIops, readIops);
            // A floor far below what the machine does, but one that a sync or a metadata
            // transaction per write would break.
            assertTrue("write IOPS " + writeIops, writeIops > 2000);
            assertTrue("read IOPS " + readIops, readIops > 2000);
        }
        assertTrue(Files.isDirectory(dir));
    }

    @Test
    public void mappedReadsOfferOnlyCachedUntrimmedRangesWithinOneChunk() throws Exception {
        long size = MappedData.CHUNK + 16L * BLOCK; // two chunks, the second short
        try (VolumeFile v = create("vol-map", size)) {
            byte[] data = new byte[4 * BLOCK];
            new Random(7).nextBytes(data);
            v.write(0, ByteBuffer.wrap(data));
            ByteBuffer m = v.mapped(BLOCK / 2, 2 * BLOCK);
            assertTrue("written data is in the page cache: offered", m != null);
            assertTrue(m.isDirect() && m.isReadOnly());
            byte[] got = new byte[2 * BLOCK];
            m.get(got);
            assertArrayEquals(Arrays.copyOfRange(data, BLOCK / 2, BLOCK / 2 + 2 * BLOCK), got);
            assertEquals("the first chunk is mapped whole", MappedData.CHUNK, v.mappedBytes());

            // never written nor read: a hole with nothing in the page cache is read with pread
            assertEquals(null, v.mapped(100L * BLOCK, BLOCK));
            ByteBuffer zeros = ByteBuffer.allocate(BLOCK);
            v.read(100L * BLOCK, zeros);
            ByteBuffer cached = v.mapped(100L * BLOCK, BLOCK);
            assertTrue("once read, it is cached and offered", cached != null);
            assertEquals(0, cached.get(BLOCK - 1));

            // a trimmed block reads as zeros whatever the file holds: never offered
            v.zero(BLOCK, BLOCK, false);
            assertEquals(null, v.mapped(0, 2 * BLOCK));
            assertTrue(v.mapped(0, BLOCK) != null);

            // across the chunk boundary: pread; on each side: mapped
            byte[] edge = new byte[2 * BLOCK];
            Arrays.fill(edge, (byte) 9);
            v.write(MappedData.CHUNK - BLOCK, ByteBuffer.wrap(edge));
            assertEquals(null, v.mapped(MappedData.CHUNK - BLOCK, 2 * BLOCK));
            ByteBuffer after = v.mapped(MappedData.CHUNK, BLOCK);
            assertEquals(9, after.get(0));
            assertEquals(size, v.mappedBytes());
            assertEquals(4L * MappedData.CHUNK - size, budget.left());

            // past the end: nothing
            assertEquals(null, v.mapped(size - BLOCK, 2 * BLOCK));
        }
        assertEquals("closing gives the budget back", 4L << 30, budget.left());
    }

    @Test
    public void aGrownVolumeIsMappedAgainToItsNewEnd() throws Exception {
        try (VolumeFile v = create("vol-grow-map", 16L * BLOCK)) {
            v.write(0, ByteBuffer.wrap(new byte[BLOCK]));
            assertTrue(v.mapped(0, BLOCK) != null);
            assertEquals(16L * BLOCK, v.mappedBytes());
            v.io.writeLock().lock();
            try {
                v.grow(32L * BLOCK);
            } finally {
                v.io.writeLock().unlock();
            }
            byte[] data = new byte[BLOCK];
            Arrays.fill(data, (byte) 5);
            v.write(20L * BLOCK, ByteBuffer.wrap(data));
            ByteBuffer m = v.mapped(20L * BLOCK, BLOCK);
            assertEquals(5, m.get(BLOCK - 1));
            assertEquals(32L * BLOCK, v.mappedBytes());
            assertEquals((4L << 30) - 32L * BLOCK, budget.left());
        }
    }

    @Test
    public void nothingIsMappedBeyondTheBudget() throws Exception {
        MappedData.Budget small = new MappedData.Budget(8L * BLOCK);
        store.insertVolume(new Store.VolumeRow("vol-small", "vol-small", "acme", 16L * BLOCK, VolumeState.AVAILABLE, 0,
                1, Instant.now()));
        try (VolumeFile v = VolumeFile.create(dir, "vol-small", 16L * BLOCK, 1, store, small)) {
            v.write(0, ByteBuffer.wrap(new byte[BLOCK]));
            assertEquals("a volume larger than the budget is read with pread", null, v.mapped(0, BLOCK));
            assertEquals(0, v.mappedBytes());
            ByteBuffer b = ByteBuffer.allocate(BLOCK);
            v.read(0, b);
            assertFalse(b.hasRemaining());
        }
        assertEquals(8L * BLOCK, small.left());
    }

    private static ByteBuffer direct(byte[] data) {
        ByteBuffer b = ByteBuffer.allocateDirect(data.length);
        b.put(data).flip();
        return b;
    }
}
