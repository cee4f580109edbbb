package cairn.platform.internal;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;

import javax.sql.DataSource;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.platform.api.ApplianceIdentity;
import cairn.platform.api.AppliancePaths;
import cairn.platform.api.ApplianceService;
import cairn.platform.api.metadata.MigrationException;
import cairn.platform.api.metadata.SchemaMigrations;

/** Creates the appliance identity at first boot and serves it from Derby afterwards. */
@Component(immediate = true)
public class ApplianceServiceImpl implements ApplianceService {

    static final String SCHEMA = "platform";
    private static final Logger LOG = LoggerFactory.getLogger(ApplianceServiceImpl.class);

    private final ApplianceIdentity identity;
    private final String version;
    private final Instant startedAt;

    @Activate
    public ApplianceServiceImpl(BundleContext context,
            @Reference(target = "(" + SchemaMigrations.DB_PROPERTY + "=" + SchemaMigrations.MAIN_DB + ")") DataSource db,
            @Reference SchemaMigrations migrations) throws MigrationException, SQLException {
        migrations.migrate(SCHEMA, context.getBundle());
        String role = valueOr(context.getProperty(AppliancePaths.ROLE), "all-in-one");
        this.identity = loadOrCreate(db, role);
        this.version = valueOr(context.getProperty(AppliancePaths.VERSION), context.getBundle().getVersion().toString());
        String started = System.getProperty("cairn.startedAt");
        this.startedAt = started != null ? Instant.ofEpochMilli(Long.parseLong(started)) : Instant.now();
        LOG.info("Appliance {} ({}) role {} firmware {}", identity.id(), identity.name(), identity.role(), version);
    }

    private static ApplianceIdentity loadOrCreate(DataSource db, String role) throws SQLException {
        try (Connection c = db.getConnection()) {
            try (PreparedStatement p = c.prepareStatement("SELECT ID, NAME, ROLE, CREATED_AT FROM APPLIANCE");
                    ResultSet rs = p.executeQuery()) {
                if (rs.next()) {
                    return new ApplianceIdentity(rs.getString(1), rs.getString(2), rs.getString(3),
                            rs.getTimestamp(4).toInstant());
                }
            }
            ApplianceIdentity created = new ApplianceIdentity(UUID.randomUUID().toString(), defaultName(), role,
                    Instant.now().truncatedTo(ChronoUnit.MILLIS));
            try (PreparedStatement p = c.prepareStatement(
                    "INSERT INTO APPLIANCE (ID, NAME, ROLE, CREATED_AT) VALUES (?,?,?,?)")) {
                p.setString(1, created.id());
                p.setString(2, created.name());
                p.setString(3, created.role());
                p.setTimestamp(4, Timestamp.from(created.createdAt()));
                p.executeUpdate();
            }
            LOG.info("First boot: appliance {} ({}) created with role {}", created.id(), created.name(), role);
            return created;
        }
    }

    private static String defaultName() {
        try {
            String host = InetAddress.getLocalHost().getHostName();
            return host.length() > 128 ? host.substring(0, 128) : host;
        } catch (UnknownHostException e) {
            return "cairn";
        }
    }

    private static String valueOr(String value, String fallback) {
        return value == null || value.isBlank() ? fallback : value;
    }

    @Override
    public ApplianceIdentity identity() {
        return identity;
    }

    @Override
    public String version() {
        return version;
    }

    @Override
    public Instant startedAt() {
        return startedAt;
    }
}
