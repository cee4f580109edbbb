package cairn.platform.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditPage;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.metadata.MigrationException;
import cairn.platform.api.metadata.SchemaMigrations;

/** The audit log in Derby; an entry is committed before {@link #record} returns. */
@Component(immediate = true)
public class AuditLogImpl implements AuditLog {

    private final DataSource db;

    @Activate
    public AuditLogImpl(BundleContext context,
            @Reference(target = "(" + SchemaMigrations.DB_PROPERTY + "=" + SchemaMigrations.MAIN_DB + ")") DataSource db,
            @Reference SchemaMigrations migrations) throws MigrationException {
        this.db = db;
        migrations.migrate(ApplianceServiceImpl.SCHEMA, context.getBundle());
    }

    @Override
    public AuditEntry record(AuditEntry e) {
        try (Connection c = db.getConnection();
                PreparedStatement p = c.prepareStatement("INSERT INTO AUDIT_LOG (OCCURRED_AT, ACTOR, SOURCE, ACTION, TARGET, "
                        + "RESULT, DETAIL) VALUES (?,?,?,?,?,?,?)", Statement.RETURN_GENERATED_KEYS)) {
            p.setTimestamp(1, Timestamp.from(e.at()));
            p.setString(2, clip(e.actor(), 128));
            p.setString(3, clip(e.source(), 256));
            p.setString(4, clip(e.action(), 128));
            p.setString(5, clip(e.target(), 512));
            p.setString(6, clip(e.result(), 64));
            p.setString(7, clip(e.detail(), 2000));
            p.executeUpdate();
            try (ResultSet keys = p.getGeneratedKeys()) {
                keys.next();
                return new AuditEntry(keys.getLong(1), e.at(), e.actor(), e.source(), e.action(), e.target(),
                        e.result(), e.detail());
            }
        } catch (SQLException ex) {
            throw new IllegalStateException("audit log write failed: " + ex.getMessage(), ex);
        }
    }

    @Override
    public AuditPage query(AuditQuery q) {
        StringBuilder where = new StringBuilder(" WHERE 1=1");
        List<Object> args = new ArrayList<>();
        if (q.from() != null) {
            where.append(" AND OCCURRED_AT >= ?");
            args.add(Timestamp.from(q.from()));
        }
        if (q.to() != null) {
            where.append(" AND OCCURRED_AT < ?");
            args.add(Timestamp.from(q.to()));
        }
        if (q.actor() != null) {
            where.append(" AND ACTOR = ?");
            args.add(q.actor());
        }
        if (q.action() != null) {
            if (q.action().endsWith("*")) {
                where.append(" AND ACTION LIKE ? ESCAPE '\\'");
                args.add(escapeLike(q.action().substring(0, q.action().length() - 1)) + "%");
            } else {
                where.append(" AND ACTION = ?");
                args.add(q.action());
            }
        }
        try (Connection c = db.getConnection()) {
            long total;
            try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM AUDIT_LOG" + where)) {
                bind(p, args);
                try (ResultSet rs = p.executeQuery()) {
                    rs.next();
                    total = rs.getLong(1);
                }
            }
            List<AuditEntry> entries = new ArrayList<>();
            try (PreparedStatement p = c.prepareStatement("SELECT ID, OCCURRED_AT, ACTOR, SOURCE, ACTION, TARGET, RESULT, DETAIL "
                    + "FROM AUDIT_LOG" + where + " ORDER BY ID DESC OFFSET ? ROWS FETCH NEXT ? ROWS ONLY")) {
                bind(p, args);
                p.setInt(args.size() + 1, q.offset());
                p.setInt(args.size() + 2, q.limit());
                try (ResultSet rs = p.executeQuery()) {
                    while (rs.next()) {
                        entries.add(new AuditEntry(rs.getLong(1), rs.getTimestamp(2).toInstant(), rs.getString(3),
                                rs.getString(4), rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8)));
                    }
                }
            }
            return new AuditPage(entries, total, q.offset(), q.limit());
        } catch (SQLException ex) {
            throw new IllegalStateException("audit log query failed: " + ex.getMessage(), ex);
        }
    }

    private static void bind(PreparedStatement p, List<Object> args) throws SQLException {
        for (int i = 0; i < args.size(); i++) {
            p.setObject(i + 1, args.get(i));
        }
    }

    private static String escapeLike(String s) {
        return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
    }

    private static String clip(String s, int max) {
        if (s == null) {
            return "";
        }
        return s.length() <= max ? s : s.substring(0, max);
    }
}
