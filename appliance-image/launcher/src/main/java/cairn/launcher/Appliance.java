package cairn.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.ServiceLoader;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;

import cairn.image.Image;

/** One Felix framework with persistent storage, its bundles taken from the image. */
final class Appliance {

    /** Bundles not named in startlevels.properties start at this level, after logging and the DS runtime. */
    static final int DEFAULT_LEVEL = 10;

    private final Framework framework;
    private final Image image;

    Appliance(Map<String, String> properties, Image image, DataDirectory data) {
        this.image = image;
        Map<String, String> p = new HashMap<>(properties);
        p.putIfAbsent(Constants.FRAMEWORK_BEGINNING_STARTLEVEL, Integer.toString(DEFAULT_LEVEL));
        p.putIfAbsent("felix.startlevel.bundle", Integer.toString(DEFAULT_LEVEL));
        p.putIfAbsent(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, "sun.security.x509,sun.misc");
        // this launcher's own framework, also when it runs in a slot's class loader
        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, Appliance.class.getClassLoader()).findFirst()
                .orElseThrow(() -> new IllegalStateException("no OSGi framework on the class path"));
        this.framework = factory.newFramework(p);
    }

    void start() {
        try {
            framework.init();
            BundleContext context = framework.getBundleContext();
            reconcile(context);
            framework.start();
            framework.adapt(FrameworkStartLevel.class).setStartLevel(DEFAULT_LEVEL);
        } catch (BundleException e) {
            throw new IllegalStateException("the OSGi framework did not start: " + e.getMessage(), e);
        }
    }

    /**
     * Installs each bundle of the image that the framework storage does not hold yet.
     * A bundle already there (possibly updated at run time by a hot upgrade) is kept.
     */
    private void reconcile(BundleContext context) throws BundleException {
        Map<String, Bundle> installed = new HashMap<>();
        for (Bundle b : context.getBundles()) {
            if (b.getSymbolicName() != null) {
                installed.put(b.getSymbolicName(), b);
            }
        }
        Properties levels = image.startLevels();
        List<Bundle> fresh = new ArrayList<>();
        for (Path jar : image.bundles()) {
            String bsn = symbolicName(jar);
            if (bsn == null || installed.containsKey(bsn)) {
                continue;
            }
            try (InputStream in = Files.newInputStream(jar)) {
                Bundle b = context.installBundle("cairn:" + bsn, in);
                b.adapt(BundleStartLevel.class).setStartLevel(
                        Integer.parseInt(levels.getProperty(bsn, Integer.toString(DEFAULT_LEVEL)).trim()));
                fresh.add(b);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        for (Bundle b : fresh) {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                b.start(Bundle.START_ACTIVATION_POLICY);
            }
        }
    }

    static String symbolicName(Path jar) {
        try (JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
            Manifest m = in.getManifest();
            if (m == null) {
                return null;
            }
            String bsn = m.getMainAttributes().getValue(Constants.BUNDLE_SYMBOLICNAME);
            if (bsn == null) {
                return null;
            }
            int semi = bsn.indexOf(';');
            return (semi < 0 ? bsn : bsn.substring(0, semi)).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether the appliance reports ready, asked in-process through its readiness
     * service (by reflection: the launcher does not share the bundles' class space), so
     * the answer does not depend on the web port or its TLS.
     */
    boolean ready() {
        try {
            BundleContext context = framework.getBundleContext();
            if (context == null) {
                return false;
            }
            org.osgi.framework.ServiceReference<?> ref = context
                    .getServiceReference("cairn.platform.api.health.ReadinessService");
            if (ref == null) {
                return false;
            }
            Object service = context.getService(ref);
            if (service == null) {
                return false;
            }
            try {
                Object report = service.getClass().getMethod("report").invoke(service);
                return Boolean.TRUE.equals(report.getClass().getMethod("ready").invoke(report));
            } finally {
                context.ungetService(ref);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }

    boolean running() {
        return (framework.getState() & (Bundle.ACTIVE | Bundle.STARTING)) != 0;
    }

    void awaitStop() {
        try {
            framework.waitForStop(0);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void stop() {
        try {
            if ((framework.getState() & (Bundle.ACTIVE | Bundle.STARTING)) != 0) {
                framework.stop();
                framework.waitForStop(60_000);
            }
        } catch (BundleException | InterruptedException e) {
            System.err.println("cairn: error while stopping: " + e.getMessage());
        }
    }
}
