package cairn.blockstore.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.sql.DataSource;

import cairn.blockstore.api.AttachmentState;
import cairn.blockstore.api.Standby;
import cairn.blockstore.api.VolumeState;

/**
 * The engine's rows in Derby. Every method is one transaction; statements are
 * parameterized. SQL failures surface as {@link StoreException} (unchecked), which the
 * service turns into an error that changes nothing.
 */
final class Store implements AttachmentLedger {

    record VolumeRow(String id, String name, String account, long sizeBytes, VolumeState state, long epoch,
            long generation, Instant createdAt) {
    }

    record AttachmentRow(String id, String volumeId, String instanceId, long epoch, AttachmentState state,
            String exportName, Instant leaseExpiresAt, String certSha256, String certPem, String keyPem,
            Instant createdAt) {
    }

    static final class StoreException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StoreException(String what, SQLException cause) {
            super(what + ": " + cause.getMessage(), cause);
        }

        boolean isDuplicateKey() {
            return getCause() instanceof SQLException s && "23505".equals(s.getSQLState());
        }
    }

    private static final String VOLUME_COLUMNS = "ID, NAME, ACCOUNT, SIZE_BYTES, STATE, EPOCH, CBT_GENERATION, CREATED_AT";
    private static final String ATTACHMENT_COLUMNS = "ID, VOLUME_ID, INSTANCE_ID, EPOCH, STATE, EXPORT_NAME, "
            + "LEASE_EXPIRES_AT, CERT_SHA256, CLIENT_CERT_PEM, CLIENT_KEY_PEM, CREATED_AT";

    private final DataSource db;

    Store(DataSource db) {
        this.db = db;
    }

    // ---- volumes

    void insertVolume(VolumeRow v) {
        update("insert volume", "INSERT INTO BS_VOLUMES (" + VOLUME_COLUMNS + ") VALUES (?,?,?,?,?,?,?,?)", v.id(),
                v.name(), v.account(), v.sizeBytes(), v.state().id(), v.epoch(), v.generation(),
                Timestamp.from(v.createdAt()));
    }

    void setVolumeState(String id, VolumeState state) {
        update("update volume state", "UPDATE BS_VOLUMES SET STATE = ? WHERE ID = ?", state.id(), id);
    }

    void setVolumeSize(String id, long size) {
        update("update volume size", "UPDATE BS_VOLUMES SET SIZE_BYTES = ? WHERE ID = ?", size, id);
    }

    void setGeneration(String id, long generation) {
        update("update tracking generation", "UPDATE BS_VOLUMES SET CBT_GENERATION = ? WHERE ID = ?", generation, id);
    }

    Optional<VolumeRow> volume(String id) {
        List<VolumeRow> rows = volumes("SELECT " + VOLUME_COLUMNS + " FROM BS_VOLUMES WHERE ID = ?", id);
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
    }

    List<VolumeRow> volumes() {
        return volumes("SELECT " + VOLUME_COLUMNS + " FROM BS_VOLUMES ORDER BY CREATED_AT, ID");
    }

    boolean nameTaken(String account, String name) {
        return !volumes("SELECT " + VOLUME_COLUMNS + " FROM BS_VOLUMES WHERE ACCOUNT = ? AND NAME = ?", account, name)
                .isEmpty();
    }

    /** Removes the volume and everything that hangs off it, in one transaction. */
    void deleteVolume(String id) {
        transaction("delete volume", c -> {
            for (String table : List.of("BS_CHANGED_BLOCKS", "BS_STANDBYS", "BS_ATTACHMENTS")) {
                exec(c, "DELETE FROM " + table + " WHERE VOLUME_ID = ?", id);
            }
            exec(c, "DELETE FROM BS_VOLUMES WHERE ID = ?", id);
            return null;
        });
    }

    // ---- attachments

    /**
     * Stores a new attachment with the volume's next epoch, in one transaction with what it
     * implies: the volume becomes in-use, the attachment it replaces (takeover) is fenced,
     * the new holder's standby registration is used up.
     *
     * @return the new epoch
     */
    @Override
    public long insertAttachment(AttachmentRow a, String fencedAttachmentId) {
        return transaction("insert attachment", c -> {
            if (fencedAttachmentId != null) {
                exec(c, "UPDATE BS_ATTACHMENTS SET STATE = ?, ENDED_AT = ? WHERE ID = ?", AttachmentState.FENCED.id(),
                        Timestamp.from(Instant.now()), fencedAttachmentId);
            }
            exec(c, "UPDATE BS_VOLUMES SET EPOCH = EPOCH + 1, STATE = ? WHERE ID = ?", VolumeState.IN_USE.id(),
                    a.volumeId());
            long epoch;
            try (PreparedStatement p = c.prepareStatement("SELECT EPOCH FROM BS_VOLUMES WHERE ID = ?")) {
                p.setString(1, a.volumeId());
                try (ResultSet rs = p.executeQuery()) {
                    rs.next();
                    epoch = rs.getLong(1);
                }
            }
            exec(c, "INSERT INTO BS_ATTACHMENTS (" + ATTACHMENT_COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?)", a.id(),
                    a.volumeId(), a.instanceId(), epoch, AttachmentState.ACTIVE.id(), a.exportName(),
                    Timestamp.from(a.leaseExpiresAt()), a.certSha256(), a.certPem(), a.keyPem(),
                    Timestamp.from(a.createdAt()));
            exec(c, "DELETE FROM BS_STANDBYS WHERE VOLUME_ID = ? AND INSTANCE_ID = ?", a.volumeId(), a.instanceId());
            return epoch;
        });
    }

    /** Ends an attachment (detached or fenced); the volume becomes available. */
    @Override
    public void endAttachment(String attachmentId, String volumeId, AttachmentState state) {
        transaction("end attachment", c -> {
            exec(c, "UPDATE BS_ATTACHMENTS SET STATE = ?, ENDED_AT = ? WHERE ID = ?", state.id(),
                    Timestamp.from(Instant.now()), attachmentId);
            exec(c, "UPDATE BS_VOLUMES SET STATE = ? WHERE ID = ?", VolumeState.AVAILABLE.id(), volumeId);
            return null;
        });
    }

    @Override
    public void setLease(String attachmentId, Instant expiresAt) {
        update("update lease", "UPDATE BS_ATTACHMENTS SET LEASE_EXPIRES_AT = ? WHERE ID = ?", Timestamp.from(expiresAt),
                attachmentId);
    }

    @Override
    public List<AttachmentRow> activeAttachments() {
        return attachments("SELECT " + ATTACHMENT_COLUMNS + " FROM BS_ATTACHMENTS WHERE STATE = ?",
                AttachmentState.ACTIVE.id());
    }

    @Override
    public Optional<AttachmentRow> attachment(String id) {
        return first(attachments("SELECT " + ATTACHMENT_COLUMNS + " FROM BS_ATTACHMENTS WHERE ID = ?", id));
    }

    @Override
    public Optional<AttachmentRow> attachmentByExport(String exportName) {
        return first(attachments("SELECT " + ATTACHMENT_COLUMNS + " FROM BS_ATTACHMENTS WHERE EXPORT_NAME = ?",
                exportName));
    }

    @Override
    public Optional<AttachmentRow> attachmentByCertificate(String sha256) {
        return first(attachments("SELECT " + ATTACHMENT_COLUMNS + " FROM BS_ATTACHMENTS WHERE CERT_SHA256 = ?", sha256));
    }

    // ---- standbys

    @Override
    public void addStandby(String volumeId, String instanceId, Instant at) {
        transaction("add standby", c -> {
            try (PreparedStatement p = c.prepareStatement(
                    "SELECT 1 FROM BS_STANDBYS WHERE VOLUME_ID = ? AND INSTANCE_ID = ?")) {
                p.setString(1, volumeId);
                p.setString(2, instanceId);
                try (ResultSet rs = p.executeQuery()) {
                    if (rs.next()) {
                        return null;
                    }
                }
            }
            exec(c, "INSERT INTO BS_STANDBYS (VOLUME_ID, INSTANCE_ID, REGISTERED_AT) VALUES (?,?,?)", volumeId,
                    instanceId, Timestamp.from(at));
            return null;
        });
    }

    @Override
    public void removeStandby(String volumeId, String instanceId) {
        update("remove standby", "DELETE FROM BS_STANDBYS WHERE VOLUME_ID = ? AND INSTANCE_ID = ?", volumeId,
                instanceId);
    }

    @Override
    public List<Standby> standbys(String volumeId) {
        return query("list standbys", "SELECT VOLUME_ID, INSTANCE_ID, REGISTERED_AT FROM BS_STANDBYS WHERE VOLUME_ID = ? "
                + "ORDER BY REGISTERED_AT, INSTANCE_ID", rs -> new Standby(rs.getString(1), rs.getString(2),
                        rs.getTimestamp(3).toInstant()), volumeId);
    }

    // ---- changed blocks

    /** Records that the blocks changed in {@code generation}: update where known, insert the rest. */
    void recordChanged(String volumeId, long[] blocks, long generation) {
        if (blocks.length == 0) {
            return;
        }
        transaction("record changed blocks", c -> {
            List<Long> missing = new ArrayList<>();
            try (PreparedStatement p = c.prepareStatement(
                    "UPDATE BS_CHANGED_BLOCKS SET GENERATION = ? WHERE VOLUME_ID = ? AND BLOCK_INDEX = ?")) {
                for (long b : blocks) {
                    p.setLong(1, generation);
                    p.setString(2, volumeId);
                    p.setLong(3, b);
                    p.addBatch();
                }
                int[] counts = p.executeBatch();
                for (int i = 0; i < counts.length; i++) {
                    if (counts[i] == 0) {
                        missing.add(blocks[i]);
                    }
                }
            }
            if (!missing.isEmpty()) {
                try (PreparedStatement p = c.prepareStatement(
                        "INSERT INTO BS_CHANGED_BLOCKS (VOLUME_ID, BLOCK_INDEX, GENERATION) VALUES (?,?,?)")) {
                    for (long b : missing) {
                        p.setString(1, volumeId);
                        p.setLong(2, b);
                        p.setLong(3, generation);
                        p.addBatch();
                    }
                    p.executeBatch();
                }
            }
            return null;
        });
    }

    long[] changedAfter(String volumeId, long generation) {
        List<Long> blocks = query("read changed blocks", "SELECT BLOCK_INDEX FROM BS_CHANGED_BLOCKS WHERE VOLUME_ID = ? "
                + "AND GENERATION > ? ORDER BY BLOCK_INDEX", rs -> rs.getLong(1), volumeId, generation);
        return blocks.stream().mapToLong(Long::longValue).toArray();
    }

    // ---- plumbing

    private interface Work<T> {
        T run(Connection c) throws SQLException;
    }

    private interface RowMapper<T> {
        T map(ResultSet rs) throws SQLException;
    }

    private <T> T transaction(String what, Work<T> work) {
        try (Connection c = db.getConnection()) {
            boolean auto = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(auto);
            }
        } catch (SQLException e) {
            throw new StoreException(what, e);
        }
    }

    private void update(String what, String sql, Object... args) {
        transaction(what, c -> exec(c, sql, args));
    }

    private static int exec(Connection c, String sql, Object... args) throws SQLException {
        try (PreparedStatement p = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                p.setObject(i + 1, args[i]);
            }
            return p.executeUpdate();
        }
    }

    private <T> List<T> query(String what, String sql, RowMapper<T> mapper, Object... args) {
        try (Connection c = db.getConnection(); PreparedStatement p = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                p.setObject(i + 1, args[i]);
            }
            List<T> out = new ArrayList<>();
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    out.add(mapper.map(rs));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new StoreException(what, e);
        }
    }

    private List<VolumeRow> volumes(String sql, Object... args) {
        return query("read volumes", sql, rs -> new VolumeRow(rs.getString(1), rs.getString(2), rs.getString(3),
                rs.getLong(4), VolumeState.parse(rs.getString(5)), rs.getLong(6), rs.getLong(7),
                rs.getTimestamp(8).toInstant()), args);
    }

    private List<AttachmentRow> attachments(String sql, Object... args) {
        return query("read attachments", sql, rs -> new AttachmentRow(rs.getString(1), rs.getString(2),
                rs.getString(3), rs.getLong(4), AttachmentState.parse(rs.getString(5)), rs.getString(6),
                rs.getTimestamp(7).toInstant(), rs.getString(8), rs.getString(9), rs.getString(10),
                rs.getTimestamp(11).toInstant()), args);
    }

    private static <T> Optional<T> first(List<T> rows) {
        return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
    }
}
