package cairn.metadata.internal;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;

import javax.sql.DataSource;

import org.apache.derby.jdbc.EmbeddedDataSource;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.LoggerFactory;

import cairn.platform.api.AppliancePaths;
import cairn.platform.api.PlatformPids;
import cairn.platform.api.metadata.MigrationException;
import cairn.platform.api.metadata.SchemaMigrations;

/**
 * The appliance's embedded Derby database under {@code DATA/db}. It is created only
 * when the directory does not exist; an existing directory that Derby cannot open
 * (locked by another process, corrupt) is an error and is never re-created, since
 * that would lose every record it holds.
 */
@Component(service = { DataSource.class, SchemaMigrations.class }, immediate = true, configurationPid = MetadataStore.PID,
        property = SchemaMigrations.DB_PROPERTY + "=" + SchemaMigrations.MAIN_DB)
@Designate(ocd = MetadataStore.Config.class)
public class MetadataStore implements DataSource, SchemaMigrations {

    public static final String PID = PlatformPids.METADATA;

    @ObjectClassDefinition(name = "Cairn metadata store", description = "The embedded Derby database")
    public @interface Config {
        @AttributeDefinition(description = "Database directory, relative to the data directory unless absolute")
        String directory() default "db";

        @AttributeDefinition(description = "Seconds a statement waits for a row lock before failing", min = "1", max = "600")
        int lockWaitSeconds() default 20;
    }

    private static final org.slf4j.Logger LOG = LoggerFactory.getLogger(MetadataStore.class);

    private final EmbeddedDataSource dataSource;
    private final Path directory;
    private final Migrator migrator;

    @Activate
    public MetadataStore(BundleContext context, Config config) {
        directory = resolveDirectory(context, config.directory());
        System.setProperty("derby.locks.waitTimeout", Integer.toString(config.lockWaitSeconds()));
        if (System.getProperty("derby.stream.error.file") == null) {
            System.setProperty("derby.stream.error.file", directory.resolveSibling("derby.log").toString());
        }
        try {
            dataSource = open(directory);
            migrator = new Migrator(dataSource);
            migrator.ensureVersionTable();
        } catch (MetadataStoreException e) {
            fatal(context, e.getMessage());
            throw e;
        } catch (SQLException e) {
            String message = "metadata database " + directory + " cannot be used: " + describe(e);
            fatal(context, message);
            throw new MetadataStoreException(message, e);
        } catch (RuntimeException e) {
            // Derby reports some kinds of damage as unchecked errors
            String message = "metadata database " + directory + " cannot be used: " + e;
            fatal(context, message);
            throw new MetadataStoreException(message, e);
        }
        LOG.info("Metadata database ready at {}", directory);
    }

    @Deactivate
    void deactivate() {
        EmbeddedDataSource shutdown = new EmbeddedDataSource();
        shutdown.setDatabaseName(directory.toString());
        shutdown.setShutdownDatabase("shutdown");
        try (Connection ignored = shutdown.getConnection()) {
            // a successful shutdown always ends in an SQLException (08006)
        } catch (SQLException expected) {
            if (!"08006".equals(expected.getSQLState())) {
                LOG.warn("Metadata database did not shut down cleanly: {}", describe(expected));
            }
        }
    }

    static Path resolveDirectory(BundleContext context, String configured) {
        Path path = Path.of(configured);
        if (path.isAbsolute()) {
            return path.normalize();
        }
        String data = context.getProperty(AppliancePaths.DATA);
        Path base = data != null ? Path.of(data) : Path.of("data");
        return base.toAbsolutePath().resolve(path).normalize();
    }

    static EmbeddedDataSource open(Path directory) throws SQLException {
        EmbeddedDataSource ds = new EmbeddedDataSource();
        ds.setDatabaseName(directory.toString());
        if (!Files.exists(directory)) {
            try {
                Files.createDirectories(directory.getParent());
            } catch (java.io.IOException e) {
                throw new MetadataStoreException("cannot create " + directory.getParent() + ": " + e.getMessage(), e);
            }
            ds.setCreateDatabase("create");
            try (Connection c = ds.getConnection()) {
                LOG.info("Created metadata database at {}", directory);
            }
            ds.setCreateDatabase(null);
            return ds;
        }
        if (!Files.isRegularFile(directory.resolve("service.properties"))) {
            throw new MetadataStoreException("metadata database " + directory
                    + " exists but is not a Derby database (no service.properties); refusing to replace it."
                    + " Move it aside or restore it from a backup.");
        }
        try (Connection c = ds.getConnection()) {
            c.getMetaData();
        }
        return ds;
    }

    /**
     * Derby nests the useful reason (lock held, corrupt page) under a generic XJ040, in
     * both the cause and the next-exception chains; the innermost distinct message wins.
     */
    static String describe(SQLException e) {
        java.util.List<String> messages = new java.util.ArrayList<>();
        java.util.ArrayDeque<Throwable> todo = new java.util.ArrayDeque<>();
        java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        todo.add(e);
        while (!todo.isEmpty()) {
            Throwable t = todo.poll();
            if (!seen.add(t)) {
                continue;
            }
            if ((t instanceof SQLException s && "XSDB6".equals(s.getSQLState()))
                    || String.valueOf(t.getMessage()).contains("Another instance of Derby")) {
                return "it is in use by another process (Derby holds a lock on it). "
                        + "Stop the other program that uses this data directory.";
            }
            if (t.getMessage() != null && !messages.contains(t.getMessage())
                    && !t.getMessage().contains("see the next exception for details")) {
                messages.add(t.getMessage());
            }
            if (t.getCause() != null) {
                todo.add(t.getCause());
            }
            if (t instanceof SQLException s && s.getNextException() != null) {
                todo.add(s.getNextException());
            }
        }
        return messages.isEmpty() ? e.toString() : String.join(": ", messages);
    }

    private static void fatal(BundleContext context, String message) {
        LOG.error("FATAL: {}", message);
        if (Boolean.parseBoolean(context.getProperty(AppliancePaths.STOP_ON_FATAL))) {
            System.setProperty(AppliancePaths.FATAL_REASON, message);
            Bundle system = context.getBundle(0);
            Thread stopper = new Thread(() -> {
                try {
                    system.stop();
                } catch (Exception e) {
                    LOG.error("Could not stop the appliance after a fatal error", e);
                }
            }, "cairn-fatal-stop");
            stopper.start();
        }
    }

    // --- SchemaMigrations

    @Override
    public int migrate(String owner, Bundle bundle) throws MigrationException {
        return migrator.migrate(owner, bundle);
    }

    @Override
    public int version(String owner) throws MigrationException {
        return migrator.version(owner);
    }

    // --- DataSource

    @Override
    public Connection getConnection() throws SQLException {
        return dataSource.getConnection();
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return dataSource.getConnection(username, password);
    }

    @Override
    public PrintWriter getLogWriter() throws SQLException {
        return dataSource.getLogWriter();
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        throw new SQLFeatureNotSupportedException("the shared data source is not reconfigurable");
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        throw new SQLFeatureNotSupportedException("the shared data source is not reconfigurable");
    }

    @Override
    public int getLoginTimeout() throws SQLException {
        return dataSource.getLoginTimeout();
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        return dataSource.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        throw new SQLException("not a wrapper for " + iface.getName());
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
        return iface.isInstance(this);
    }
}
