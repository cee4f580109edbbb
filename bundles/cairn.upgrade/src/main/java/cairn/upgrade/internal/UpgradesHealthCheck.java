package cairn.upgrade.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import cairn.platform.api.AppliancePaths;
import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;

/**
 * Shows in {@code /health} which bundles run a version other than the image's, i.e.
 * were upgraded in place (and kept across restarts by the persistent framework storage).
 * Informational: it never fails, a bad upgrade is rolled back before it is committed.
 */
@Component(property = HealthCheck.NAME + "=upgrades")
public class UpgradesHealthCheck implements HealthCheck {

    private final BundleContext context;
    private final Map<String, String> imageVersions;

    @Activate
    public UpgradesHealthCheck(BundleContext context) {
        this.context = context;
        String home = context.getProperty(AppliancePaths.HOME);
        this.imageVersions = home == null ? Map.of() : imageVersions(Path.of(home, "bundles"));
    }

    @Override
    public HealthCheckResult check() {
        List<String> upgraded = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            String shipped = imageVersions.get(b.getSymbolicName());
            if (shipped != null && !shipped.equals(b.getVersion().toString())) {
                upgraded.add(b.getSymbolicName() + " " + b.getVersion());
            }
        }
        upgraded.sort(null);
        return HealthCheckResult.ok(upgraded.isEmpty() ? "every bundle runs the image's version"
                : upgraded.size() + " upgraded in place: " + String.join(", ", upgraded));
    }

    private static Map<String, String> imageVersions(Path bundles) {
        Map<String, String> out = new HashMap<>();
        if (!Files.isDirectory(bundles)) {
            return out;
        }
        try (Stream<Path> s = Files.list(bundles)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".jar")).toList()) {
                try (JarFile jar = new JarFile(p.toFile(), false)) {
                    Manifest m = jar.getManifest();
                    String bsn = m == null ? null : m.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
                    String v = m == null ? null : m.getMainAttributes().getValue(Constants.BUNDLE_VERSION);
                    if (bsn != null) {
                        int semi = bsn.indexOf(';');
                        out.put((semi < 0 ? bsn : bsn.substring(0, semi)).trim(),
                                org.osgi.framework.Version.parseVersion(v == null ? "0" : v.trim()).toString());
                    }
                } catch (IOException | IllegalArgumentException e) {
                    // not a bundle we can name: nothing to compare
                }
            }
        } catch (IOException e) {
            return out;
        }
        return out;
    }
}
