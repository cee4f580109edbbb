package cairn.web.internal.rest;

/**
 * One resource of the REST API: a DS component in this bundle that declares its routes.
 * The {@link ApiServlet} picks up every registered resource, so adding an area's API
 * (volumes, snapshots...) means adding one class that calls that area's API service:
 *
 * <pre>
 * &#64;Component(service = ApiResource.class)
 * public class VolumesResource implements ApiResource {
 *     public void routes(Routes r) {
 *         r.get("/volumes", Role.VIEWER, "List volumes").returnsListOf(Volume.class)
 *                 .handle(call -&gt; volumes.list(call.caller()));
 *     }
 * }
 * </pre>
 *
 * Authentication, the role check, JSON, error mapping, auditing and the OpenAPI
 * document come from the routes' declarations; resources stay thin.
 */
public interface ApiResource {

    void routes(Routes routes);
}
