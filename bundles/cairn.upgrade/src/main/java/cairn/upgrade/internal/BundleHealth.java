package cairn.upgrade.internal;

import java.util.HashSet;
import java.util.Set;
import java.util.function.Supplier;

import org.osgi.framework.Bundle;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

import cairn.platform.api.health.CheckReport;
import cairn.platform.api.health.HealthReport;
import cairn.platform.api.health.ReadinessService;

/**
 * Whether an upgraded bundle is healthy: it is active, each of its enabled components
 * is satisfied or active, and no appliance health check that passed before the swap
 * fails now. Checks that were already failing before are not the new jar's fault and
 * do not block it.
 */
final class BundleHealth {

    private final ServiceComponentRuntime scr;
    private final Supplier<ReadinessService> readiness;

    BundleHealth(ServiceComponentRuntime scr, Supplier<ReadinessService> readiness) {
        this.scr = scr;
        this.readiness = readiness;
    }

    /** The names of the checks passing now: the baseline an upgrade must not break. */
    Set<String> passingChecks() {
        ReadinessService r = readiness.get();
        Set<String> ok = new HashSet<>();
        if (r != null) {
            for (CheckReport c : r.report().checks()) {
                if (c.ok()) {
                    ok.add(c.name());
                }
            }
        }
        return ok;
    }

    /** Null when healthy, else the first reason it is not, in words. */
    String problem(Bundle bundle, Set<String> passingBefore) {
        if (bundle.getState() != Bundle.ACTIVE) {
            return "bundle " + bundle.getSymbolicName() + " " + bundle.getVersion() + " is " + state(bundle.getState())
                    + ", not active";
        }
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(bundle)) {
            if (!scr.isComponentEnabled(d)) {
                continue;
            }
            for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                switch (c.state) {
                case ComponentConfigurationDTO.ACTIVE -> {
                }
                case ComponentConfigurationDTO.SATISFIED -> {
                    // an immediate component is activated as soon as it is satisfied; one that
                    // stays merely satisfied could not be created (e.g. its class is missing)
                    if (d.immediate) {
                        return "component " + d.name + " failed to activate: it is immediate and satisfied but "
                                + "could not be created (implementation " + d.implementationClass + ")";
                    }
                }
                case ComponentConfigurationDTO.FAILED_ACTIVATION -> {
                    return "component " + d.name + " failed to activate"
                            + (c.failure != null ? ": " + rootCause(c.failure) : "");
                }
                case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> {
                    return "component " + d.name + " is missing its reference "
                            + (c.unsatisfiedReferences.length > 0 ? c.unsatisfiedReferences[0].name : "");
                }
                default -> {
                    return "component " + d.name + " is not satisfied (state " + c.state + ")";
                }
                }
            }
        }
        ReadinessService r = readiness.get();
        if (r == null) {
            return "the readiness service is not available";
        }
        HealthReport report = r.report();
        for (CheckReport c : report.checks()) {
            if (!c.ok() && passingBefore.contains(c.name())) {
                return "health check " + c.name() + " fails: " + c.message();
            }
        }
        return null;
    }

    static String state(int state) {
        return switch (state) {
        case Bundle.ACTIVE -> "active";
        case Bundle.INSTALLED -> "installed";
        case Bundle.RESOLVED -> "resolved";
        case Bundle.STARTING -> "starting";
        case Bundle.STOPPING -> "stopping";
        case Bundle.UNINSTALLED -> "uninstalled";
        default -> "in state " + state;
        };
    }

    /** The innermost "Caused by" of a stack trace, which names what actually went wrong. */
    static String rootCause(String trace) {
        String cause = null;
        for (String line : trace.split("\n")) {
            String l = line.strip();
            if (l.startsWith("Caused by: ")) {
                cause = l.substring("Caused by: ".length());
            }
        }
        return cause != null ? cause : firstLine(trace);
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).strip();
    }
}
