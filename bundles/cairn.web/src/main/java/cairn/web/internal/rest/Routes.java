package cairn.web.internal.rest;

import java.util.ArrayList;
import java.util.List;

import cairn.platform.api.security.Role;

/** Collects the routes a resource declares. */
public final class Routes {

    private final List<Route> routes = new ArrayList<>();

    public Route get(String path, Role role, String summary) {
        return add("GET", path, role, summary);
    }

    public Route post(String path, Role role, String summary) {
        return add("POST", path, role, summary);
    }

    public Route put(String path, Role role, String summary) {
        return add("PUT", path, role, summary);
    }

    public Route delete(String path, Role role, String summary) {
        return add("DELETE", path, role, summary);
    }

    private Route add(String method, String path, Role role, String summary) {
        Route r = new Route(method, path, role, summary);
        routes.add(r);
        return r;
    }

    List<Route> all() {
        for (Route r : routes) {
            if (r.handler == null) {
                throw new IllegalStateException(r + " has no handler");
            }
        }
        return List.copyOf(routes);
    }
}
