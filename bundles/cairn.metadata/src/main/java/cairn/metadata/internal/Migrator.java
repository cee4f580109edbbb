package cairn.metadata.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.sql.DataSource;

import org.osgi.framework.Bundle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.platform.api.metadata.MigrationException;

/**
 * Ordered, checksummed schema migrations per owner, recorded in {@code CAIRN_SCHEMA}.
 * Derby runs DDL inside transactions, so a failing script leaves nothing behind.
 */
final class Migrator {

    private static final Logger LOG = LoggerFactory.getLogger(Migrator.class);
    private static final Pattern NAME = Pattern.compile("V(\\d+)__([A-Za-z0-9_\\-]+)\\.sql");
    private static final Pattern OWNER = Pattern.compile("[a-z][a-z0-9_.\\-]{0,63}");

    private final DataSource dataSource;

    Migrator(DataSource dataSource) {
        this.dataSource = dataSource;
    }

    record Script(int version, String description, String sql, String checksum) {
    }

    void ensureVersionTable() throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            if (!tableExists(c, "CAIRN_SCHEMA")) {
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE CAIRN_SCHEMA (OWNER VARCHAR(64) NOT NULL, VERSION INT NOT NULL, "
                            + "DESCRIPTION VARCHAR(200) NOT NULL, CHECKSUM CHAR(64) NOT NULL, "
                            + "APPLIED_AT TIMESTAMP NOT NULL, PRIMARY KEY (OWNER, VERSION))");
                }
            }
        }
    }

    synchronized int migrate(String owner, Bundle bundle) throws MigrationException {
        if (owner == null || !OWNER.matcher(owner).matches()) {
            throw new MigrationException("invalid schema owner '" + owner + "'");
        }
        return apply(owner, scripts(owner, bundle));
    }

    synchronized int apply(String owner, List<Script> scripts) throws MigrationException {
        try (Connection c = dataSource.getConnection()) {
            Map<Integer, String> applied = applied(c, owner);
            int current = applied.keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
            for (Script script : scripts) {
                String known = applied.get(script.version());
                if (known != null) {
                    if (!known.equals(script.checksum())) {
                        throw new MigrationException("schema " + owner + " V" + script.version()
                                + " was changed after it was applied; migrations are append-only");
                    }
                    continue;
                }
                if (script.version() < current) {
                    throw new MigrationException("schema " + owner + " V" + script.version()
                            + " is older than the applied V" + current + " and was never applied");
                }
                run(c, owner, script);
                current = script.version();
                LOG.info("Schema {} migrated to V{} ({})", owner, script.version(), script.description());
            }
            return current;
        } catch (SQLException e) {
            throw new MigrationException("schema " + owner + ": " + e.getMessage(), e);
        }
    }

    synchronized int version(String owner) throws MigrationException {
        try (Connection c = dataSource.getConnection()) {
            return applied(c, owner).keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
        } catch (SQLException e) {
            throw new MigrationException("schema " + owner + ": " + e.getMessage(), e);
        }
    }

    private static void run(Connection c, String owner, Script script) throws SQLException, MigrationException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try (Statement s = c.createStatement()) {
            for (String statement : statements(script.sql())) {
                s.execute(statement);
            }
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO CAIRN_SCHEMA (OWNER, VERSION, DESCRIPTION, CHECKSUM, APPLIED_AT) VALUES (?,?,?,?,?)")) {
                p.setString(1, owner);
                p.setInt(2, script.version());
                p.setString(3, script.description());
                p.setString(4, script.checksum());
                p.setTimestamp(5, Timestamp.from(Instant.now()));
                p.executeUpdate();
            }
            c.commit();
        } catch (SQLException e) {
            c.rollback();
            throw new MigrationException("schema " + owner + " V" + script.version() + " (" + script.description()
                    + ") failed and was rolled back: " + e.getMessage(), e);
        } finally {
            c.setAutoCommit(auto);
        }
    }

    private static Map<Integer, String> applied(Connection c, String owner) throws SQLException {
        Map<Integer, String> result = new TreeMap<>();
        try (PreparedStatement p = c.prepareStatement("SELECT VERSION, CHECKSUM FROM CAIRN_SCHEMA WHERE OWNER = ?")) {
            p.setString(1, owner);
            try (ResultSet rs = p.executeQuery()) {
                while (rs.next()) {
                    result.put(rs.getInt(1), rs.getString(2));
                }
            }
        }
        return result;
    }

    static List<Script> scripts(String owner, Bundle bundle) throws MigrationException {
        List<Script> scripts = new ArrayList<>();
        Enumeration<URL> entries = bundle.findEntries("db/" + owner, "*.sql", false);
        for (URL url : entries == null ? Collections.<URL>emptyList() : Collections.list(entries)) {
            String file = url.getPath().substring(url.getPath().lastIndexOf('/') + 1);
            Matcher m = NAME.matcher(file);
            if (!m.matches()) {
                throw new MigrationException("schema " + owner + ": script name '" + file
                        + "' does not match V<number>__<description>.sql");
            }
            try (InputStream in = url.openStream()) {
                String sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                scripts.add(new Script(Integer.parseInt(m.group(1)), m.group(2), sql, sha256(sql)));
            } catch (IOException e) {
                throw new MigrationException("schema " + owner + ": cannot read " + file, e);
            }
        }
        scripts.sort((a, b) -> Integer.compare(a.version(), b.version()));
        for (int i = 1; i < scripts.size(); i++) {
            if (scripts.get(i).version() == scripts.get(i - 1).version()) {
                throw new MigrationException("schema " + owner + ": two scripts for V" + scripts.get(i).version());
            }
        }
        return scripts;
    }

    /** Splits on semicolons that end a line; lines starting with "--" are comments. */
    static List<String> statements(String sql) {
        List<String> result = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : sql.split("\\R")) {
            String trimmed = line.strip();
            if (trimmed.startsWith("--") || trimmed.isEmpty()) {
                continue;
            }
            if (trimmed.endsWith(";")) {
                current.append(trimmed, 0, trimmed.length() - 1);
                if (!current.toString().isBlank()) {
                    result.add(current.toString().strip());
                }
                current.setLength(0);
            } else {
                current.append(trimmed).append('\n');
            }
        }
        if (!current.toString().isBlank()) {
            result.add(current.toString().strip());
        }
        return result;
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    static boolean tableExists(Connection c, String table) throws SQLException {
        try (ResultSet rs = c.getMetaData().getTables(null, null, table, new String[] { "TABLE" })) {
            return rs.next();
        }
    }
}
