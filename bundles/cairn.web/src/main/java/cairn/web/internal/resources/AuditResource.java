package cairn.web.internal.resources;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditPage;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.security.Role;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Routes;

/** {@code /audit}: who did what, newest first, filtered and paged. Admins only: it spans every account. */
@Component(service = ApiResource.class)
public class AuditResource implements ApiResource {

    private final AuditLog audit;

    @Activate
    public AuditResource(@Reference AuditLog audit) {
        this.audit = audit;
    }

    @Override
    public void routes(Routes r) {
        r.get("/audit", Role.ADMIN, "Audit entries, newest first")
                .query("from", "string", "ISO-8601 time, inclusive").query("to", "string", "ISO-8601 time, exclusive")
                .query("actor", "string", "exact user").query("action", "string", "exact action, or a prefix with *")
                .query("offset", "integer", "entries to skip").query("limit", "integer", "page size, 1-1000 (50)")
                .returns(AuditPage.class).handle(call -> audit.query(new AuditQuery(call.queryInstant("from"),
                        call.queryInstant("to"), call.query("actor"), call.query("action"),
                        call.queryInt("offset", 0, 0, Integer.MAX_VALUE), call.queryInt("limit", 50, 1, 1000))));
    }
}
