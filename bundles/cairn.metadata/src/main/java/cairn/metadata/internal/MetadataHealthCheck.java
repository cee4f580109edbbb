package cairn.metadata.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import javax.sql.DataSource;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;
import cairn.platform.api.metadata.SchemaMigrations;

/** Ready when the metadata database answers a query. */
@Component(property = HealthCheck.NAME + "=metadata")
public class MetadataHealthCheck implements HealthCheck {

    private final DataSource db;

    @Activate
    public MetadataHealthCheck(
            @Reference(target = "(" + SchemaMigrations.DB_PROPERTY + "=" + SchemaMigrations.MAIN_DB + ")") DataSource db) {
        this.db = db;
    }

    @Override
    public HealthCheckResult check() {
        try (Connection c = db.getConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("VALUES 1")) {
            rs.next();
            return HealthCheckResult.ok("database answers");
        } catch (SQLException e) {
            return HealthCheckResult.failed("database does not answer: " + e.getMessage());
        }
    }
}
