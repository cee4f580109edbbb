package cairn.blockstore.internal;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.Random;

import org.apache.derby.jdbc.EmbeddedDataSource;

import cairn.blockstore.api.VolumeState;

/**
 * The writer of {@link CrashConsistencyTest}, run in its own JVM and killed with SIGKILL:
 * writes self-describing 4 KiB records at pseudo-random slots, flushes every few writes and
 * says so on stdout only after the flush returned.
 */
public final class CrashWriter {

    static final int SLOT = 4096;
    static final int FLUSH_EVERY = 8;

    private CrashWriter() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long size = Long.parseLong(args[1]);
        long seed = Long.parseLong(args[2]);
        EmbeddedDataSource ds = dataSource(dir);
        createSchema(ds);
        Store store = new Store(ds);
        store.insertVolume(new Store.VolumeRow("vol-crash", "crash", "acme", size, VolumeState.AVAILABLE, 0, 1,
                Instant.now()));
        Path volumes = Files.createDirectories(dir.resolve("volumes"));
        VolumeFile v = VolumeFile.create(volumes, "vol-crash", size, 1, store, new MappedData.Budget(0));
        Random slots = new Random(seed);
        ByteBuffer buf = ByteBuffer.allocateDirect(SLOT);
        System.out.println("READY");
        System.out.flush();
        for (long seq = 1;; seq++) {
            long slot = slots.nextInt((int) (size / SLOT));
            buf.clear();
            record(seq, slot, buf);
            buf.flip();
            v.write(slot * SLOT, buf);
            if (seq % FLUSH_EVERY == 0) {
                v.flush();
                System.out.println("FLUSHED " + seq);
                System.out.flush();
            }
        }
    }

    /** Record {@code seq} for {@code slot}: its seq and slot, then bytes derived from both. */
    static void record(long seq, long slot, ByteBuffer buf) {
        buf.putLong(seq).putLong(slot);
        Random r = new Random(seq * 31 + slot);
        while (buf.hasRemaining()) {
            buf.put((byte) r.nextInt());
        }
    }

    static EmbeddedDataSource dataSource(Path dir) {
        EmbeddedDataSource ds = new EmbeddedDataSource();
        ds.setDatabaseName(dir.resolve("db").toString());
        ds.setCreateDatabase("create");
        return ds;
    }

    static void createSchema(EmbeddedDataSource ds) throws Exception {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement();
                InputStream in = CrashWriter.class.getResourceAsStream("/db/blockstore/V1__volumes_attachments.sql")) {
            String script = new String(in.readAllBytes(), StandardCharsets.UTF_8).replaceAll("(?m)^--.*$", "");
            for (String sql : script.split(";")) {
                if (!sql.isBlank()) {
                    st.execute(sql);
                }
            }
        }
    }
}
