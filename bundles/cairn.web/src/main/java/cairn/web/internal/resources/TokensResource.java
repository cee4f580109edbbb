package cairn.web.internal.resources;

import java.time.Duration;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.ApiToken;
import cairn.platform.api.security.IssuedToken;
import cairn.platform.api.security.Role;
import cairn.platform.api.security.UserService;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Routes;

/** {@code /tokens}: API tokens for scripts, created and revoked by their owner or an admin. */
@Component(service = ApiResource.class)
public class TokensResource implements ApiResource {

    /** A token to create; owner defaults to the caller, no lifetime means no expiry. */
    public record NewToken(String name, String owner, Integer lifetimeDays) {
    }

    private final UserService users;

    @Activate
    public TokensResource(@Reference UserService users) {
        this.users = users;
    }

    @Override
    public void routes(Routes r) {
        r.get("/tokens", Role.VIEWER, "Tokens (own; an admin sees all or those of ?owner=)")
                .query("owner", "string", "only this user's tokens").returnsListOf(ApiToken.class)
                .handle(call -> users.listTokens(call.caller(), call.query("owner")));
        r.post("/tokens", Role.VIEWER, "Create a token; its secret is in this answer only").accepts(NewToken.class)
                .returns(IssuedToken.class).status(201).handle(call -> {
                    NewToken t = call.body(NewToken.class);
                    if (t.lifetimeDays() != null && (t.lifetimeDays() < 1 || t.lifetimeDays() > 3650)) {
                        throw new InvalidInputException("lifetimeDays", "must be between 1 and 3650, or absent for no"
                                + " expiry");
                    }
                    IssuedToken issued = users.createToken(call.caller(), t.owner(), t.name(),
                            t.lifetimeDays() == null ? null : Duration.ofDays(t.lifetimeDays()));
                    call.auditTarget("token " + issued.token().id());
                    return issued;
                });
        r.delete("/tokens/{id}", Role.VIEWER, "Revoke a token").handle(call -> {
            call.auditTarget("token " + call.param("id"));
            users.revokeToken(call.caller(), call.param("id"));
            return null;
        });
    }
}
