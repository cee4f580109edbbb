package cairn.upgrade.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import javax.sql.DataSource;

import cairn.upgrade.api.UpgradeOutcome;
import cairn.upgrade.api.UpgradeRecord;

/** The {@code UPGRADE_HISTORY} table; a record is committed before the caller hears the outcome. */
final class UpgradeHistory {

    private static final String COLUMNS = "ID, STARTED_AT, ACTOR, SOURCE, KIND, BUNDLE, FROM_VERSION, TO_VERSION, "
            + "OUTCOME, DURATION_MS, REASON";

    private final DataSource db;

    UpgradeHistory(DataSource db) {
        this.db = db;
    }

    long add(Instant at, String actor, String source, String kind, String bundle, String from, String to,
            UpgradeOutcome outcome, long durationMillis, String reason) {
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement("INSERT INTO UPGRADE_HISTORY (STARTED_AT, ACTOR, SOURCE, KIND, "
                        + "BUNDLE, FROM_VERSION, TO_VERSION, OUTCOME, DURATION_MS, REASON) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        Statement.RETURN_GENERATED_KEYS)) {
            p.setTimestamp(1, Timestamp.from(at));
            p.setString(2, clip(actor, 128));
            p.setString(3, clip(source, 512));
            p.setString(4, kind);
            p.setString(5, clip(bundle, 256));
            p.setString(6, clip(from, 128));
            p.setString(7, clip(to, 128));
            p.setString(8, outcome.name());
            p.setLong(9, durationMillis);
            p.setString(10, clip(reason, 4000));
            p.executeUpdate();
            try (ResultSet keys = p.getGeneratedKeys()) {
                keys.next();
                return keys.getLong(1);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot record the upgrade history: " + e.getMessage(), e);
        }
    }

    List<UpgradeRecord> list(String bundle, int limit) {
        String sql = "SELECT " + COLUMNS + " FROM UPGRADE_HISTORY" + (bundle == null ? "" : " WHERE BUNDLE = ?")
                + " ORDER BY ID DESC FETCH FIRST ? ROWS ONLY";
        try (Connection c = db.getConnection(); PreparedStatement p = c.prepareStatement(sql)) {
            int i = 1;
            if (bundle != null) {
                p.setString(i++, bundle);
            }
            p.setInt(i, Math.max(1, Math.min(limit, 10_000)));
            List<UpgradeRecord> out = new ArrayList<>();
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    out.add(new UpgradeRecord(r.getLong(1), r.getTimestamp(2).toInstant(), r.getString(3),
                            r.getString(4), r.getString(5), r.getString(6), r.getString(7), r.getString(8),
                            UpgradeOutcome.valueOf(r.getString(9)), r.getLong(10), r.getString(11)));
                }
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the upgrade history: " + e.getMessage(), e);
        }
    }

    /**
     * The version a manual rollback goes back to: the "from" of the newest committed
     * change that brought the bundle to its current version.
     */
    Optional<String> previousVersion(String bundle, String currentVersion) {
        String sql = "SELECT FROM_VERSION FROM UPGRADE_HISTORY WHERE BUNDLE = ? AND TO_VERSION = ? AND OUTCOME = ? "
                + "ORDER BY ID DESC FETCH FIRST 1 ROWS ONLY";
        try (Connection c = db.getConnection(); PreparedStatement p = c.prepareStatement(sql)) {
            p.setString(1, bundle);
            p.setString(2, currentVersion);
            p.setString(3, UpgradeOutcome.COMMITTED.name());
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? Optional.of(r.getString(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new IllegalStateException("cannot read the upgrade history: " + e.getMessage(), e);
        }
    }

    private static String clip(String s, int max) {
        String v = s == null ? "" : s;
        return v.length() <= max ? v : v.substring(0, max - 1) + "…";
    }
}
