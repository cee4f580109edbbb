package cairn.platform.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import cairn.platform.api.PlatformPids;
import cairn.platform.api.health.CheckReport;
import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;
import cairn.platform.api.health.HealthReport;
import cairn.platform.api.health.HealthStatus;
import cairn.platform.api.health.ReadinessService;

/**
 * Aggregate readiness: the framework has started, every bundle is active, every Cairn
 * component is satisfied, the operator's configuration files are in effect, and every
 * registered {@link HealthCheck} passes. Checks run
 * in parallel with a bound, so one hung check cannot hang {@code /health}.
 */
@Component(configurationPid = ReadinessServiceImpl.PID)
@Designate(ocd = ReadinessServiceImpl.Config.class)
public class ReadinessServiceImpl implements ReadinessService {

    public static final String PID = PlatformPids.READINESS;

    @ObjectClassDefinition(name = "Cairn readiness", description = "How health checks are run")
    public @interface Config {
        @AttributeDefinition(description = "Milliseconds one health check may take before it counts as failed",
                min = "10", max = "60000")
        int checkTimeoutMillis() default 2000;

        @AttributeDefinition(description = "Bundle symbolic name prefixes whose DS components must all be satisfied")
        String[] componentBundlePrefixes() default { "cairn." };
    }

    private final BundleContext context;
    private final ServiceComponentRuntime scr;
    private volatile Config config;
    private final ExecutorService executor;
    private final Map<ServiceReference<HealthCheck>, HealthCheck> checks = new ConcurrentSkipListMap<>();
    private volatile boolean wasReady;
    private final OperatorConfiguration operatorConfiguration;

    @Activate
    public ReadinessServiceImpl(BundleContext context, @Reference ServiceComponentRuntime scr,
            @Reference ConfigurationAdmin configAdmin, Config config) {
        this.context = context;
        this.scr = scr;
        this.config = config;
        this.operatorConfiguration = new OperatorConfiguration(context, configAdmin, scr);
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "cairn-health-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** A new timeout or prefix list applies to the next report; /health stays registered meanwhile. */
    @Modified
    void modified(Config config) {
        this.config = config;
    }

    @Deactivate
    void deactivate() {
        executor.shutdownNow();
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addCheck(ServiceReference<HealthCheck> ref, HealthCheck check) {
        checks.put(ref, check);
    }

    void removeCheck(ServiceReference<HealthCheck> ref) {
        checks.remove(ref);
    }

    @Override
    public HealthReport report() {
        List<CheckReport> results = new ArrayList<>();
        results.add(frameworkCheck());
        results.add(componentsCheck());
        results.add(operatorConfiguration.check());
        List<Map.Entry<String, Future<HealthCheckResult>>> running = new ArrayList<>();
        for (Map.Entry<ServiceReference<HealthCheck>, HealthCheck> e : Map.copyOf(checks).entrySet()) {
            Object name = e.getKey().getProperty(HealthCheck.NAME);
            String label = name != null ? name.toString() : "check-" + e.getKey().getProperty(Constants.SERVICE_ID);
            HealthCheck check = e.getValue();
            running.add(Map.entry(label, executor.submit(check::check)));
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.checkTimeoutMillis());
        for (Map.Entry<String, Future<HealthCheckResult>> r : running) {
            results.add(collect(r.getKey(), r.getValue(), deadline));
        }
        results.sort((a, b) -> a.name().compareTo(b.name()));
        boolean ok = results.stream().allMatch(CheckReport::ok);
        HealthStatus status;
        if (ok) {
            wasReady = true;
            status = HealthStatus.READY;
        } else {
            status = wasReady ? HealthStatus.DOWN : HealthStatus.STARTING;
        }
        return new HealthReport(status, results);
    }

    private static CheckReport collect(String name, Future<HealthCheckResult> future, long deadline) {
        try {
            HealthCheckResult r = future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            return r == null ? new CheckReport(name, false, "check returned nothing")
                    : new CheckReport(name, r.ok(), r.message());
        } catch (TimeoutException e) {
            future.cancel(true);
            return new CheckReport(name, false, "check did not answer in time");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new CheckReport(name, false, "interrupted");
        } catch (Exception e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return new CheckReport(name, false, "check failed: " + cause);
        }
    }

    private CheckReport frameworkCheck() {
        List<String> notActive = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            if (b.getHeaders("").get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            if (b.getState() != Bundle.ACTIVE) {
                notActive.add(b.getSymbolicName() + " (" + state(b.getState()) + ")");
            }
        }
        if (notActive.isEmpty()) {
            return new CheckReport("bundles", true, context.getBundles().length + " bundles active");
        }
        return new CheckReport("bundles", false, "not active: " + String.join(", ", notActive));
    }

    private CheckReport componentsCheck() {
        List<String> problems = new ArrayList<>();
        int count = 0;
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            if (!watched(d.bundle.symbolicName)) {
                continue;
            }
            if (!scr.isComponentEnabled(d)) {
                continue;
            }
            for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                count++;
                switch (c.state) {
                case ComponentConfigurationDTO.ACTIVE, ComponentConfigurationDTO.SATISFIED -> {
                }
                case ComponentConfigurationDTO.FAILED_ACTIVATION -> problems.add(d.name + " failed to activate"
                        + (c.failure != null ? ": " + firstLine(c.failure) : ""));
                case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> problems.add(d.name + " is missing "
                        + (c.unsatisfiedReferences.length > 0 ? c.unsatisfiedReferences[0].name : "a reference"));
                default -> problems.add(d.name + " is unsatisfied");
                }
            }
        }
        if (problems.isEmpty()) {
            return new CheckReport("components", true, count + " components satisfied");
        }
        return new CheckReport("components", false, String.join("; ", problems));
    }

    private boolean watched(String bsn) {
        for (String prefix : config.componentBundlePrefixes()) {
            if (bsn != null && bsn.startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String state(int state) {
        return switch (state) {
        case Bundle.INSTALLED -> "installed";
        case Bundle.RESOLVED -> "resolved";
        case Bundle.STARTING -> "starting";
        case Bundle.STOPPING -> "stopping";
        default -> "state " + state;
        };
    }
}
