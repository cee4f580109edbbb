package cairn.itests.osgi;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;

import javax.inject.Inject;
import javax.sql.DataSource;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.ops4j.pax.exam.util.Filter;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

import cairn.itests.osgi.slow.SlowModified;
import cairn.platform.api.ApplianceService;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditPage;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.health.HealthReport;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.metadata.MigrationException;
import cairn.platform.api.metadata.SchemaMigrations;

/** The all-in-one role's real bundles on real Felix, with a real Derby under a fresh data directory. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class PlatformTest {

    private static final Path DATA = RoleBundles.newDataDirectory();

    @Inject
    private BundleContext context;
    @Inject
    private ReadinessService readiness;
    @Inject
    @Filter("(cairn.db=main)")
    private DataSource db;
    @Inject
    private SchemaMigrations migrations;
    @Inject
    private AuditLog audit;
    @Inject
    private ApplianceService appliance;
    @Inject
    private ConfigurationAdmin configAdmin;
    @Inject
    private ServiceComponentRuntime scr;

    @Configuration
    public Option[] config() {
        return RoleBundles.allInOne(DATA);
    }

    @Test
    public void everyBundleResolvesAndIsActive() {
        List<String> notActive = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            boolean fragment = b.getHeaders().get(Constants.FRAGMENT_HOST) != null;
            if (!fragment && b.getState() != Bundle.ACTIVE) {
                notActive.add(b.getSymbolicName() + " state " + b.getState());
            }
        }
        assertTrue("bundles not active: " + notActive, notActive.isEmpty());
        assertTrue(context.getBundles().length > 25);
    }

    @Test
    public void everyCairnComponentIsSatisfied() {
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            if (!d.bundle.symbolicName.startsWith("cairn.")) {
                continue;
            }
            for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                assertTrue(d.name + " state " + c.state, c.state == ComponentConfigurationDTO.ACTIVE
                        || c.state == ComponentConfigurationDTO.SATISFIED);
            }
        }
    }

    @Test
    public void healthReachesReady() throws Exception {
        Eventually.await("ready", Duration.ofSeconds(30), () -> readiness.report().ready());
        HealthReport report = readiness.report();
        assertTrue(report.checks().stream().anyMatch(c -> c.name().equals("metadata") && c.ok()));
    }

    @Test
    public void applianceHasAnIdentity() {
        assertEquals(36, appliance.identity().id().length());
        assertEquals("all-in-one", appliance.identity().role());
    }

    @Test
    public void metadataStoreRunsMigrationsInOrderAndStoresData() throws Exception {
        assertEquals(2, migrations.migrate("itest", context.getBundle()));
        assertEquals("running again applies nothing", 2, migrations.migrate("itest", context.getBundle()));
        try (Connection c = db.getConnection()) {
            try (PreparedStatement p = c.prepareStatement("INSERT INTO ITEST_NOTES (ID, TEXT) VALUES (?, ?)")) {
                p.setInt(1, 1);
                p.setString(2, "stored in Derby");
                p.executeUpdate();
            }
            try (PreparedStatement p = c.prepareStatement("SELECT TEXT, AUTHOR FROM ITEST_NOTES WHERE ID = 1");
                    ResultSet rs = p.executeQuery()) {
                assertTrue(rs.next());
                assertEquals("stored in Derby", rs.getString(1));
                assertEquals("nobody", rs.getString(2));
            }
        }
    }

    @Test
    public void aFailingMigrationLeavesNothingBehind() throws Exception {
        try {
            migrations.migrate("broken", context.getBundle());
            fail("the broken script must fail");
        } catch (MigrationException expected) {
            assertThat(expected.getMessage(), containsString("rolled back"));
        }
        assertEquals(0, migrations.version("broken"));
        try (Connection c = db.getConnection();
                ResultSet rs = c.getMetaData().getTables(null, null, "BROKEN_HALF", null)) {
            assertFalse("the first statement of the failed script was rolled back", rs.next());
        }
    }

    @Test
    public void auditLogRecordsAndFilters() {
        audit.record(AuditEntry.of("alice", "127.0.0.1", "itest.create", "thing-1", "ok", ""));
        audit.record(AuditEntry.of("bob", "127.0.0.1", "itest.delete", "thing-1", "ok", ""));
        audit.record(AuditEntry.of("alice", "127.0.0.1", "other.action", "x", "denied", ""));
        AuditPage alice = audit.query(new AuditQuery(null, null, "alice", "itest.*", 0, 10));
        assertEquals(1, alice.total());
        assertEquals("itest.create", alice.entries().get(0).action());
        AuditPage page = audit.query(new AuditQuery(null, null, null, null, 0, 2));
        assertEquals(2, page.entries().size());
        assertTrue(page.total() >= 3);
        assertEquals("newest first", "other.action", page.entries().get(0).action());
    }

    @Test
    public void anInvalidConfigurationValueIsRejectedAndThePreviousKept() throws Exception {
        String pid = "cairn.platform.readiness";
        org.osgi.service.cm.Configuration config = configAdmin.getConfiguration(pid, "?");
        Dictionary<String, Object> good = new Hashtable<>();
        good.put("checkTimeoutMillis", 1500);
        config.update(good);
        // Configuration reaches components asynchronously; the guard learns a value is good when
        // it is delivered. Only then is there a previous value to keep.
        Eventually.await("good value delivered", Duration.ofSeconds(30), () -> delivered(pid, 1500));

        Dictionary<String, Object> bad = new Hashtable<>();
        bad.put("checkTimeoutMillis", "not a number");
        config.update(bad);
        Eventually.await("config kept", Duration.ofSeconds(10), () -> Integer.valueOf(1500).equals(
                configAdmin.getConfiguration(pid, "?").getProperties().get("checkTimeoutMillis")));
        Eventually.await("ready", Duration.ofSeconds(10), () -> readiness.report().ready());
        assertTrue("the component kept the good value", delivered(pid, 1500));
    }

    @Test
    public void anOperatorFileCountsAsInEffectOnlyOnceItsComponentTookIt() throws Exception {
        System.clearProperty(SlowModified.ENTERED);
        System.clearProperty(SlowModified.RELEASE);
        // the framework's directory: DATA of this class inside the framework is another one
        Path cfg = Path.of(context.getProperty("felix.fileinstall.dir")).resolve("itests.slow.cfg");
        java.nio.file.Files.createDirectories(cfg.getParent());
        Bundle slow = context.installBundle(slowBundle().toUri().toString());
        try {
            slow.start();
            Eventually.await("the slow component active", Duration.ofSeconds(30), () -> componentState("itests.slow")
                    == ComponentConfigurationDTO.ACTIVE);
            // the operator's file, and the configuration FileInstall makes of it (FileInstall itself is
            // not part of this framework: the configuration is made here the way it makes them)
            java.nio.file.Files.writeString(cfg, "speed = slow\n");
            Dictionary<String, Object> fromFile = new Hashtable<>();
            fromFile.put("speed", "slow");
            fromFile.put("felix.fileinstall.filename", cfg.toUri().toString());
            configAdmin.getConfiguration("itests.slow", "?").update(fromFile);
            Eventually.await("its modified method running", Duration.ofSeconds(30),
                    () -> System.getProperty(SlowModified.ENTERED) != null);
            // SCR already shows the new configuration in its DTO; the component has not taken it
            Eventually.await("the configuration check waits for it", Duration.ofSeconds(10), () -> readiness.report()
                    .checks().stream().anyMatch(c -> c.name().equals("configuration") && !c.ok()
                            && c.message().contains("itests.slow.cfg not yet applied")));
            assertFalse(readiness.report().ready());
            System.setProperty(SlowModified.RELEASE, "true");
            Eventually.await("in effect once modified returned", Duration.ofSeconds(30), () -> readiness.report()
                    .checks().stream().anyMatch(c -> c.name().equals("configuration") && c.ok()));
        } finally {
            System.setProperty(SlowModified.RELEASE, "true");
            org.osgi.service.cm.Configuration made = configAdmin.getConfiguration("itests.slow", "?");
            if (made.getProperties() != null) {
                made.delete();
            }
            java.nio.file.Files.deleteIfExists(cfg);
            slow.uninstall();
            System.clearProperty(SlowModified.ENTERED);
            System.clearProperty(SlowModified.RELEASE);
        }
    }

    private int componentState(String name) {
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            if (d.name.equals(name)) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    return c.state;
                }
            }
        }
        return -1;
    }

    /** A bundle holding {@link SlowModified} as an immediate component configured by PID itests.slow. */
    private static Path slowBundle() throws java.io.IOException {
        java.util.jar.Manifest manifest = new java.util.jar.Manifest();
        java.util.jar.Attributes main = manifest.getMainAttributes();
        main.put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue(Constants.BUNDLE_MANIFESTVERSION, "2");
        main.putValue(Constants.BUNDLE_SYMBOLICNAME, "itests.slowconfig");
        main.putValue(Constants.BUNDLE_VERSION, "1.0.0");
        main.putValue("Service-Component", "OSGI-INF/slow.xml");
        String type = SlowModified.class.getName();
        String xml = "<scr:component xmlns:scr=\"http://www.osgi.org/xmlns/scr/v1.3.0\" name=\"itests.slow\""
                + " immediate=\"true\" configuration-pid=\"itests.slow\" activate=\"activate\" modified=\"modified\">"
                + "<implementation class=\"" + type + "\"/><service><provide interface=\"" + type + "\"/></service>"
                + "</scr:component>";
        Path jar = java.nio.file.Files.createTempFile("itests-slow", ".jar");
        String classFile = type.replace('.', '/') + ".class";
        try (java.util.jar.JarOutputStream out = new java.util.jar.JarOutputStream(
                java.nio.file.Files.newOutputStream(jar), manifest);
                java.io.InputStream bytes = SlowModified.class.getClassLoader().getResourceAsStream(classFile)) {
            out.putNextEntry(new java.util.jar.JarEntry("OSGI-INF/slow.xml"));
            out.write(xml.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            out.putNextEntry(new java.util.jar.JarEntry(classFile));
            bytes.transferTo(out);
        }
        jar.toFile().deleteOnExit();
        return jar;
    }

    /** Whether the component configured by {@code pid} runs with {@code checkTimeoutMillis} = value. */
    private boolean delivered(String pid, int value) {
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            if (List.of(d.configurationPid).contains(pid)) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (!Integer.valueOf(value).equals(c.properties.get("checkTimeoutMillis"))) {
                        return false;
                    }
                }
                return true;
            }
        }
        return false;
    }
}
