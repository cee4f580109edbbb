package cairn.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import javax.sql.DataSource;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.wiring.BundleWire;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.platform.api.AppliancePaths;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.ConflictException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.metadata.MigrationException;
import cairn.platform.api.metadata.SchemaMigrations;
import cairn.upgrade.api.InstalledBundle;
import cairn.upgrade.api.UpgradeConstants;
import cairn.upgrade.api.UpgradeOutcome;
import cairn.upgrade.api.UpgradePlan;
import cairn.upgrade.api.UpgradeRecord;
import cairn.upgrade.api.UpgradeRequest;
import cairn.upgrade.api.UpgradeResult;
import cairn.upgrade.api.UpgradeService;

/**
 * Swaps one bundle at a time: validate, measure the impact, keep the previous jar,
 * {@link Bundle#update(InputStream)}, wait for health, then commit or restore.
 *
 * <p>Every reference to a Cairn service is optional and dynamic on purpose: the
 * bundles that provide them (platform, metadata) are themselves upgradable, and this
 * component must stay alive, holding the previous jar, while one of them is swapped.
 */
@Component(configurationPid = UpgradeConstants.SERVICE_PID)
@Designate(ocd = UpgradeServiceImpl.Config.class)
public class UpgradeServiceImpl implements UpgradeService {

    @ObjectClassDefinition(name = "Cairn hot upgrade", description = "How bundle upgrades are checked and committed")
    public @interface Config {
        @AttributeDefinition(description = "Seconds the new bundle has to become healthy before the previous jar is restored",
                min = "1", max = "3600")
        int healthTimeoutSeconds() default 60;

        @AttributeDefinition(description = "Milliseconds the new bundle must stay healthy before the upgrade is committed",
                min = "0", max = "60000")
        int settleMillis() default 1500;

        @AttributeDefinition(description = "Refuse jars that are not signed by a certificate of the trust store")
        boolean requireSignature() default false;

        @AttributeDefinition(description = "PKCS#12 trust store of upgrade signers, relative to the data directory")
        String trustStore() default "etc/upgrade-trust.p12";

        @AttributeDefinition(type = AttributeType.PASSWORD, description = "Password of the trust store (may be empty)")
        String trustStorePassword() default "";

        @AttributeDefinition(description = "Largest jar accepted, in MiB", min = "1", max = "4096")
        int maxJarMegabytes() default 256;
    }

    private static final Logger LOG = LoggerFactory.getLogger(UpgradeServiceImpl.class);

    private final BundleContext context;
    private final ServiceComponentRuntime scr;
    private final Config config;
    private final Path data;
    private final JarArchive archive;
    private final ReentrantLock oneAtATime = new ReentrantLock(true);

    private volatile ReadinessService readiness;
    private volatile AuditLog audit;
    private volatile DataSource db;
    private volatile SchemaMigrations migrations;
    private volatile DataSource migratedDb;

    @Activate
    public UpgradeServiceImpl(BundleContext context, @Reference ServiceComponentRuntime scr, Config config) {
        this.context = context;
        this.scr = scr;
        this.config = config;
        String dataDir = context.getProperty(AppliancePaths.DATA);
        this.data = Path.of(dataDir != null ? dataDir : "data").toAbsolutePath();
        String home = context.getProperty(AppliancePaths.HOME);
        this.archive = new JarArchive(data.resolve("upgrades"), home != null ? Path.of(home, "bundles") : null);
    }

    // --- references: optional and dynamic, see the class comment ---

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setReadiness(ReadinessService r) {
        this.readiness = r;
    }

    void unsetReadiness(ReadinessService r) {
        if (this.readiness == r) {
            this.readiness = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setAudit(AuditLog a) {
        this.audit = a;
    }

    void unsetAudit(AuditLog a) {
        if (this.audit == a) {
            this.audit = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY,
            target = "(" + SchemaMigrations.DB_PROPERTY + "=" + SchemaMigrations.MAIN_DB + ")")
    void setDb(DataSource d) {
        this.db = d;
    }

    void unsetDb(DataSource d) {
        if (this.db == d) {
            this.db = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setMigrations(SchemaMigrations m) {
        this.migrations = m;
    }

    void unsetMigrations(SchemaMigrations m) {
        if (this.migrations == m) {
            this.migrations = null;
        }
    }

    /** The history store, its schema brought up to date once per data source. */
    private UpgradeHistory history() {
        DataSource d = db;
        SchemaMigrations m = migrations;
        if (d == null || m == null) {
            throw new CairnException(CairnException.Kind.UNAVAILABLE, "metadata_unavailable",
                    "the metadata store is not available (restarting or upgrading); retry shortly");
        }
        synchronized (this) {
            if (migratedDb != d) {
                try {
                    m.migrate(UpgradeConstants.SCHEMA, context.getBundle());
                } catch (MigrationException e) {
                    throw new IllegalStateException("upgrade history schema: " + e.getMessage(), e);
                }
                migratedDb = d;
            }
        }
        return new UpgradeHistory(d);
    }

    // --- the service ---

    @Override
    public UpgradePlan plan(InputStream in, UpgradeRequest request) {
        Path spooled = spool(in);
        try {
            BundleJar jar = BundleJar.read(spooled);
            return plan(jar, installed(jar.symbolicName()), request);
        } finally {
            deleteQuietly(spooled);
        }
    }

    @Override
    public UpgradeResult upgrade(InputStream in, UpgradeRequest request) {
        Path spooled = spool(in);
        oneAtATime.lock();
        Instant started = Instant.now();
        try {
            BundleJar jar;
            Bundle bundle;
            UpgradePlan plan;
            try {
                jar = BundleJar.read(spooled);
                bundle = installed(jar.symbolicName());
                plan = plan(jar, bundle, request);
            } catch (CairnException refused) {
                refuse(started, request, UpgradeRecord.KIND_UPGRADE, "", "", "", refused);
                throw refused;
            }
            if (!plan.allowed()) {
                ConflictException refused = new ConflictException("upgrade_refused", String.join("; ", plan.problems()));
                refuse(started, request, UpgradeRecord.KIND_UPGRADE, plan.symbolicName(), plan.fromVersion(),
                        plan.toVersion(), refused);
                throw refused;
            }
            return swap(bundle, spooled, jar, plan.affectedBundles(), request, UpgradeRecord.KIND_UPGRADE, started);
        } finally {
            oneAtATime.unlock();
            deleteQuietly(spooled);
        }
    }

    @Override
    public UpgradeResult rollback(String symbolicName, UpgradeRequest request) {
        if (symbolicName == null || symbolicName.isBlank()) {
            throw new InvalidInputException("bundle", "name the bundle to roll back");
        }
        oneAtATime.lock();
        Instant started = Instant.now();
        try {
            Bundle bundle = findInstalled(symbolicName)
                    .orElseThrow(() -> new NotFoundException("bundle", symbolicName));
            String current = bundle.getVersion().toString();
            Optional<String> previous = history().previousVersion(symbolicName, current);
            if (previous.isEmpty() || archive.find(symbolicName, previous.get()).isEmpty()) {
                ConflictException refused = new ConflictException("no_previous_version", symbolicName + " " + current
                        + " has no previous version to go back to: it was not installed by an upgrade here");
                refuse(started, request, UpgradeRecord.KIND_ROLLBACK, symbolicName, current, "", refused);
                throw refused;
            }
            Path jarPath = archive.find(symbolicName, previous.get()).get();
            Path copy;
            try {
                copy = Files.copy(jarPath, archive.incoming().resolve(UUID.randomUUID() + ".jar"));
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the previous jar " + jarPath + ": " + e.getMessage(), e);
            }
            try {
                BundleJar jar = BundleJar.read(copy);
                List<String> affected = affectedBundles(bundle);
                if (!affected.isEmpty() && !request.confirm()) {
                    ConflictException refused = new ConflictException("confirmation_required",
                            "going back would refresh (restart) " + String.join(", ", affected) + "; confirm to go ahead");
                    refuse(started, request, UpgradeRecord.KIND_ROLLBACK, symbolicName, current,
                            previous.get(), refused);
                    throw refused;
                }
                return swap(bundle, copy, jar, affected, request, UpgradeRecord.KIND_ROLLBACK, started);
            } finally {
                deleteQuietly(copy);
            }
        } finally {
            oneAtATime.unlock();
        }
    }

    @Override
    public List<UpgradeRecord> history(String symbolicName, int limit) {
        return history().list(symbolicName, limit);
    }

    @Override
    public List<InstalledBundle> bundles() {
        List<InstalledBundle> out = new ArrayList<>();
        UpgradeHistory h = null;
        try {
            h = history();
        } catch (CairnException unavailable) {
            // listed without previous versions while the store is away
        }
        for (Bundle b : context.getBundles()) {
            String version = b.getVersion().toString();
            String previous = "";
            if (h != null && b.getSymbolicName() != null) {
                previous = h.previousVersion(b.getSymbolicName(), version)
                        .filter(v -> archive.find(b.getSymbolicName(), v).isPresent()).orElse("");
            }
            out.add(new InstalledBundle(b.getBundleId(), String.valueOf(b.getSymbolicName()), version,
                    BundleHealth.state(b.getState()), previous));
        }
        return out;
    }

    // --- steps ---

    private UpgradePlan plan(BundleJar jar, Bundle bundle, UpgradeRequest request) {
        List<String> problems = new ArrayList<>();
        String from = bundle.getVersion().toString();
        String to = jar.version().toString();
        if (jar.version().compareTo(bundle.getVersion()) <= 0 && !request.force()) {
            problems.add("version " + to + " is not higher than the installed " + from + " (force to allow)");
        }
        String signedBy = "";
        if (config.requireSignature()) {
            TrustedSigners trust = TrustedSigners.load(data.resolve(config.trustStore()),
                    config.trustStorePassword().toCharArray(), problems);
            Optional<String> signer = trust.trustedSigner(jar);
            if (signer.isPresent()) {
                signedBy = signer.get();
            } else if (!jar.signed()) {
                problems.add("the jar is not signed" + (jar.unsignedEntries().isEmpty() ? ""
                        : " (unsigned entries, e.g. " + jar.unsignedEntries().get(0) + ")")
                        + " and this appliance requires signed upgrades");
            } else {
                problems.add("the jar is signed, but by no certificate of the trust store " + config.trustStore());
            }
        }
        List<String> affected = affectedBundles(bundle);
        if (affected.contains(context.getBundle().getSymbolicName() + " " + context.getBundle().getVersion())) {
            problems.add("the refresh would restart cairn.upgrade itself, which runs the upgrade; "
                    + "ship this change as an image upgrade");
        } else if (!affected.isEmpty() && !request.confirm()) {
            problems.add("other bundles use its packages and a refresh would restart them: "
                    + String.join(", ", affected) + "; confirm to go ahead");
        }
        return new UpgradePlan(jar.symbolicName(), from, to, signedBy, affected, problems);
    }

    private Bundle installed(String bsn) {
        if (bsn.equals(context.getBundle().getSymbolicName())) {
            throw new ConflictException("self_upgrade", bsn + " cannot replace itself while it runs the upgrade; "
                    + "ship it in an image upgrade");
        }
        Bundle b = findInstalled(bsn).orElseThrow(() -> new InvalidInputException("jar",
                "no installed bundle is named " + bsn + "; an upgrade replaces an installed bundle"));
        if (b.getBundleId() == 0) {
            throw new InvalidInputException("jar", "the framework itself is replaced by an image upgrade");
        }
        if (b.getHeaders("").get(org.osgi.framework.Constants.FRAGMENT_HOST) != null) {
            throw new InvalidInputException("jar", bsn + " is a fragment; fragments change with an image upgrade");
        }
        return b;
    }

    private Optional<Bundle> findInstalled(String bsn) {
        for (Bundle b : context.getBundles()) {
            if (bsn.equals(b.getSymbolicName())) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /** Other bundles wired to this one's exports, with their dependency closure: what a refresh restarts. */
    private List<String> affectedBundles(Bundle bundle) {
        BundleWiring wiring = bundle.adapt(BundleWiring.class);
        if (wiring == null) {
            return List.of();
        }
        boolean usedByOthers = false;
        for (BundleWire w : wiring.getProvidedWires(null)) {
            if (w.getRequirerWiring().getBundle().getBundleId() != bundle.getBundleId()) {
                usedByOthers = true;
                break;
            }
        }
        if (!usedByOthers) {
            return List.of();
        }
        FrameworkWiring fw = context.getBundle(0).adapt(FrameworkWiring.class);
        Set<String> names = new TreeSet<>();
        for (Bundle b : fw.getDependencyClosure(Set.of(bundle))) {
            if (b.getBundleId() != bundle.getBundleId()) {
                names.add(b.getSymbolicName() + " " + b.getVersion());
            }
        }
        return List.copyOf(names);
    }

    private UpgradeResult swap(Bundle bundle, Path newJar, BundleJar jar, List<String> affected, UpgradeRequest request,
            String kind, Instant started) {
        String bsn = bundle.getSymbolicName();
        String from = bundle.getVersion().toString();
        String to = jar.version().toString();
        Path previous;
        try {
            previous = archive.keepCurrent(bundle);
        } catch (IOException e) {
            CairnException refused = new CairnException(CairnException.Kind.UNAVAILABLE, "cannot_keep_previous",
                    "cannot keep the previous jar of " + bsn + " under " + data.resolve("upgrades") + ": " + e.getMessage());
            refuse(started, request, kind, bsn, from, to, refused);
            throw refused;
        }
        Set<String> baseline = new BundleHealth(scr, () -> readiness).passingChecks();
        LOG.info("{} {} {} -> {} asked by {} from {}", kind, bsn, from, to, request.actor(), request.source());
        long t0 = System.nanoTime();
        String problem = install(bundle, newJar, !affected.isEmpty());
        if (problem == null) {
            problem = awaitHealthy(bundle, baseline);
        }
        if (problem == null) {
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            try {
                if (!Files.isRegularFile(archive.jar(bsn, to))) {
                    archive.keep(Files.copy(newJar, newJar.resolveSibling(UUID.randomUUID() + ".jar")), bsn, to);
                }
            } catch (IOException e) {
                LOG.warn("{} {} is committed but its jar could not be archived: {}", bsn, to, e.getMessage());
            }
            String summary = bsn + " " + from + " -> " + to + " active and healthy"
                    + (affected.isEmpty() ? "" : "; refreshed " + String.join(", ", affected));
            long id = finish(started, request, kind, bsn, from, to, UpgradeOutcome.COMMITTED, ms, summary);
            LOG.info("{} of {} committed in {} ms: {}", kind, bsn, ms, summary);
            return new UpgradeResult(id, bsn, from, to, to, UpgradeOutcome.COMMITTED, summary, ms, affected);
        }
        LOG.warn("{} of {} to {} is not healthy: {}; restoring {}", kind, bsn, to, problem, from);
        String restoreProblem = install(bundle, previous, !affected.isEmpty());
        if (restoreProblem == null) {
            restoreProblem = awaitHealthy(bundle, baseline);
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        UpgradeOutcome outcome;
        String reason;
        if (bundle.getState() == Bundle.ACTIVE && bundle.getVersion().toString().equals(from)) {
            outcome = UpgradeOutcome.ROLLED_BACK;
            reason = problem + "; restored " + from + (restoreProblem == null ? "" : " (still: " + restoreProblem + ")");
        } else {
            outcome = UpgradeOutcome.FAILED;
            reason = problem + "; restoring " + from + " failed too: " + restoreProblem;
        }
        long id = finish(started, request, kind, bsn, from, to, outcome, ms, reason);
        LOG.warn("{} of {} {}: {}", kind, bsn, outcome, reason);
        return new UpgradeResult(id, bsn, from, to, bundle.getVersion().toString(), outcome, reason, ms, affected);
    }

    /** Updates the bundle from the jar, refreshing it when needed; null when it went in, else why not. */
    private String install(Bundle bundle, Path jar, boolean refreshOthers) {
        try (InputStream in = Files.newInputStream(jar)) {
            bundle.update(in);
        } catch (BundleException | IOException | IllegalStateException e) {
            return "the framework refused the jar: " + e.getMessage();
        }
        FrameworkWiring fw = context.getBundle(0).adapt(FrameworkWiring.class);
        // an implementation bundle that nobody is wired to has no old revision left; one that
        // exports packages keeps it until a refresh, which the caller confirmed
        if (refreshOthers || fw.getRemovalPendingBundles().contains(bundle)) {
            CountDownLatch done = new CountDownLatch(1);
            fw.refreshBundles(Set.of(bundle), e -> {
                if (e.getType() == FrameworkEvent.PACKAGES_REFRESHED) {
                    done.countDown();
                }
            });
            try {
                if (!done.await(config.healthTimeoutSeconds(), TimeUnit.SECONDS)) {
                    return "the refresh did not finish within " + config.healthTimeoutSeconds() + " s";
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted during the refresh";
            }
        }
        return null;
    }

    /** Waits until the bundle has been healthy for the settle time; null when it is, else the last problem. */
    private String awaitHealthy(Bundle bundle, Set<String> baseline) {
        BundleHealth health = new BundleHealth(scr, () -> readiness);
        long begin = System.nanoTime();
        long deadline = begin + TimeUnit.SECONDS.toNanos(config.healthTimeoutSeconds());
        long healthySince = -1;
        String problem = "no health answer yet";
        while (true) {
            long now = System.nanoTime();
            try {
                problem = health.problem(bundle, baseline);
            } catch (RuntimeException e) {
                problem = "health could not be read: " + e;
            }
            if (problem == null) {
                if (healthySince < 0) {
                    healthySince = now;
                }
                if (now - healthySince >= TimeUnit.MILLISECONDS.toNanos(config.settleMillis())) {
                    return null;
                }
            } else {
                healthySince = -1;
                // a failed activation does not heal by itself: no need to wait out the timeout
                if (problem.contains("failed to activate")
                        && now - begin >= TimeUnit.MILLISECONDS.toNanos(config.settleMillis())) {
                    return problem;
                }
            }
            if (now >= deadline) {
                return problem + " (after " + config.healthTimeoutSeconds() + " s)";
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while waiting for health";
            }
        }
    }

    private void refuse(Instant started, UpgradeRequest request, String kind, String bsn, String from, String to,
            CairnException why) {
        long ms = java.time.Duration.between(started, Instant.now()).toMillis();
        try {
            finish(started, request, kind, bsn, from, to, UpgradeOutcome.REFUSED, ms, why.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("refused {} of {} could not be recorded: {}", kind, bsn, e.getMessage());
        }
        LOG.warn("{} of {} refused: {}", kind, bsn.isEmpty() ? "a jar" : bsn, why.getMessage());
    }

    private long finish(Instant started, UpgradeRequest request, String kind, String bsn, String from, String to,
            UpgradeOutcome outcome, long ms, String reason) {
        AuditLog a = audit;
        if (a != null) {
            try {
                a.record(AuditEntry.of(request.actor(), request.source(), "bundle." + kind,
                        bsn + " " + from + " -> " + to, outcome.name().toLowerCase(java.util.Locale.ROOT), reason));
            } catch (RuntimeException e) {
                LOG.warn("could not audit the {} of {}: {}", kind, bsn, e.getMessage());
            }
        } else {
            LOG.warn("audit log unavailable; {} of {} {} by {} not audited", kind, bsn, outcome, request.actor());
        }
        try {
            return history().add(started, request.actor(), request.source(), kind, bsn, from, to, outcome, ms, reason);
        } catch (RuntimeException e) {
            // the swap has happened either way; its outcome must still reach the caller
            LOG.error("{} of {} {} ({}) could not be written to the history: {}", kind, bsn, outcome, reason,
                    e.getMessage());
            return -1;
        }
    }

    private Path spool(InputStream in) {
        long max = config.maxJarMegabytes() * 1024L * 1024L;
        Path file;
        try {
            file = archive.incoming().resolve(UUID.randomUUID() + ".jar");
        } catch (IOException e) {
            throw new IllegalStateException("cannot create " + data.resolve("upgrades/incoming") + ": " + e.getMessage(), e);
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            byte[] buffer = new byte[64 * 1024];
            long total = 0;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                total += n;
                if (total > max) {
                    throw new InvalidInputException("jar", "larger than the " + config.maxJarMegabytes() + " MiB allowed");
                }
                out.write(buffer, 0, n);
            }
        } catch (IOException | RuntimeException e) {
            deleteQuietly(file);
            if (e instanceof RuntimeException r) {
                throw r;
            }
            throw new InvalidInputException("jar", "could not be read: " + e.getMessage());
        }
        return file;
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.debug("could not delete {}: {}", p, e.getMessage());
        }
    }
}
