package cairn.web.internal.resources;

import java.util.ArrayList;
import java.util.List;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import cairn.platform.api.security.Role;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Routes;

/** {@code /bundles}: what runs in the container, for people checking versions after an upgrade. */
@Component(service = ApiResource.class)
public class BundlesResource implements ApiResource {

    /** One installed bundle. */
    public record BundleInfo(long id, String symbolicName, String version, String state) {
    }

    private final BundleContext context;

    @Activate
    public BundlesResource(BundleContext context) {
        this.context = context;
    }

    @Override
    public void routes(Routes r) {
        r.get("/bundles", Role.VIEWER, "Installed bundles: id, symbolic name, version, state")
                .returnsListOf(BundleInfo.class).handle(call -> {
                    List<BundleInfo> list = new ArrayList<>();
                    for (Bundle b : context.getBundles()) {
                        list.add(new BundleInfo(b.getBundleId(), b.getSymbolicName(), b.getVersion().toString(),
                                state(b.getState())));
                    }
                    return list;
                });
    }

    static String state(int state) {
        return switch (state) {
        case Bundle.ACTIVE -> "active";
        case Bundle.RESOLVED -> "resolved";
        case Bundle.INSTALLED -> "installed";
        case Bundle.STARTING -> "starting";
        case Bundle.STOPPING -> "stopping";
        case Bundle.UNINSTALLED -> "uninstalled";
        default -> "unknown";
        };
    }
}
