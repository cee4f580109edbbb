package cairn.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.platform.api.AppliancePaths;
import cairn.platform.api.errors.CairnException;
import cairn.upgrade.api.UpgradeConstants;
import cairn.upgrade.api.UpgradeRequest;
import cairn.upgrade.api.UpgradeResult;
import cairn.upgrade.api.UpgradeService;

/**
 * Watches {@code DATA/deploy/}: a jar dropped there goes through {@link UpgradeService}
 * with exactly the checks of any other upgrade (no force, no confirmation). Afterwards
 * the jar is moved to {@code deploy/done/} or {@code deploy/failed/}, next to a
 * {@code <jar>.result} file that says what happened; the history has the same record.
 * A file is taken only once its size and time stamp have stopped changing, so a jar
 * still being copied in is not read half-written.
 */
@Component(immediate = true, configurationPid = UpgradeConstants.DEPLOY_PID)
@Designate(ocd = DeployFolderWatcher.Config.class)
public class DeployFolderWatcher {

    @ObjectClassDefinition(name = "Cairn deploy folder", description = "Upgrades from jars dropped into DATA/deploy")
    public @interface Config {
        @AttributeDefinition(description = "Watch the folder at all")
        boolean enabled() default true;

        @AttributeDefinition(description = "Milliseconds between two looks at the folder", min = "100", max = "60000")
        int pollMillis() default 1000;
    }

    private static final Logger LOG = LoggerFactory.getLogger(DeployFolderWatcher.class);

    private final UpgradeService upgrades;
    private final Path folder;
    private final ScheduledExecutorService executor;
    private final Map<Path, String> lastSeen = new HashMap<>();

    @Activate
    public DeployFolderWatcher(BundleContext context, @Reference UpgradeService upgrades, Config config) {
        this.upgrades = upgrades;
        String dataDir = context.getProperty(AppliancePaths.DATA);
        this.folder = Path.of(dataDir != null ? dataDir : "data").toAbsolutePath().resolve("deploy");
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "cairn-upgrade-deploy"));
        if (config.enabled()) {
            executor.scheduleWithFixedDelay(this::poll, config.pollMillis(), config.pollMillis(), TimeUnit.MILLISECONDS);
            LOG.info("Watching {} for bundle upgrades", folder);
        }
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        executor.shutdownNow();
        executor.awaitTermination(10, TimeUnit.SECONDS);
    }

    private void poll() {
        try {
            if (!Files.isDirectory(folder)) {
                return;
            }
            Map<Path, String> now = new HashMap<>();
            try (Stream<Path> s = Files.list(folder)) {
                for (Path p : s.filter(f -> Files.isRegularFile(f) && f.getFileName().toString().endsWith(".jar")).toList()) {
                    FileTime t = Files.getLastModifiedTime(p);
                    now.put(p, Files.size(p) + "@" + t.toMillis());
                }
            }
            for (Map.Entry<Path, String> e : Map.copyOf(now).entrySet()) {
                if (e.getValue().equals(lastSeen.get(e.getKey()))) {
                    now.remove(e.getKey());
                    process(e.getKey());
                }
            }
            lastSeen.clear();
            lastSeen.putAll(now);
        } catch (IOException | RuntimeException e) {
            // logged, and the next poll tries again: one bad file must not end the watch
            LOG.warn("deploy folder {}: {}", folder, e.toString());
        }
    }

    private void process(Path jar) throws IOException {
        String name = jar.getFileName().toString();
        UpgradeRequest request = new UpgradeRequest("system", "deploy:" + name, false, false);
        Properties result = new Properties();
        boolean ok;
        try (InputStream in = Files.newInputStream(jar)) {
            UpgradeResult r = upgrades.upgrade(in, request);
            ok = r.committed();
            result.setProperty("outcome", r.outcome().name());
            result.setProperty("bundle", r.symbolicName());
            result.setProperty("from", r.fromVersion());
            result.setProperty("to", r.toVersion());
            result.setProperty("running", r.runningVersion());
            result.setProperty("durationMillis", Long.toString(r.durationMillis()));
            result.setProperty("reason", r.reason());
            LOG.info("deploy/{}: {} {} {} -> {}: {}", name, r.outcome(), r.symbolicName(), r.fromVersion(),
                    r.toVersion(), r.reason());
        } catch (CairnException refused) {
            ok = false;
            result.setProperty("outcome", "REFUSED");
            result.setProperty("reason", refused.getMessage());
            LOG.warn("deploy/{}: refused: {}", name, refused.getMessage());
        } catch (RuntimeException e) {
            ok = false;
            result.setProperty("outcome", "FAILED");
            result.setProperty("reason", e.toString());
            LOG.error("deploy/{}: {}", name, e.toString(), e);
        }
        Path target = folder.resolve(ok ? "done" : "failed");
        Files.createDirectories(target);
        Path moved = target.resolve(name);
        if (Files.exists(moved)) {
            moved = target.resolve(name.substring(0, name.length() - 4) + "-" + System.currentTimeMillis() + ".jar");
        }
        Files.move(jar, moved, StandardCopyOption.REPLACE_EXISTING);
        Path resultFile = moved.resolveSibling(moved.getFileName() + ".result");
        Path tmp = moved.resolveSibling(moved.getFileName() + ".result.tmp");
        try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
            result.store(w, "upgrade from deploy/" + name);
        }
        Files.move(tmp, resultFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
