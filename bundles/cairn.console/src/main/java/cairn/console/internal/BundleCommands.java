package cairn.console.internal;

import java.util.ArrayList;
import java.util.List;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import cairn.console.api.RequiredRole;
import cairn.platform.api.security.Role;

/**
 * {@code bundle:list}. Changing bundles (install, start, stop, update) is left to Gogo's
 * framework commands ({@code felix:*}), which the console keeps admin-only and audited.
 */
@Component(service = BundleCommands.class)
@GogoCommand(scope = "bundle", function = "list")
public class BundleCommands {

    /** One bundle as {@code bundle:list} shows it. */
    public record BundleRow(long id, String state, int level, String name, String version) {
    }

    private final BundleContext context;

    @Activate
    public BundleCommands(BundleContext context) {
        this.context = context;
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("list the installed bundles with their state, start level and version")
    public List<BundleRow> list() {
        List<BundleRow> rows = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            BundleStartLevel level = b.adapt(BundleStartLevel.class);
            rows.add(new BundleRow(b.getBundleId(), state(b.getState()), level == null ? 0 : level.getStartLevel(),
                    b.getSymbolicName(), b.getVersion().toString()));
        }
        return rows;
    }

    private static String state(int state) {
        return switch (state) {
            case Bundle.ACTIVE -> "active";
            case Bundle.RESOLVED -> "resolved";
            case Bundle.INSTALLED -> "installed";
            case Bundle.STARTING -> "starting";
            case Bundle.STOPPING -> "stopping";
            case Bundle.UNINSTALLED -> "uninstalled";
            default -> Integer.toString(state);
        };
    }
}
