package cairn.web.internal.resources;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.AuthorizedKey;
import cairn.platform.api.security.Role;
import cairn.platform.api.security.User;
import cairn.platform.api.security.UserService;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Routes;

/** {@code /users}: accounts, passwords and SSH keys; the permission rules live in the UserService. */
@Component(service = ApiResource.class)
public class UsersResource implements ApiResource {

    /** A user to create; the account defaults to "default". */
    public record NewUser(String name, String password, String role, String account) {
    }

    /** A password change; the current password is needed for one's own. */
    public record PasswordChange(String currentPassword, String newPassword) {
    }

    /** One line of an authorized_keys or .pub file. */
    public record NewKey(String publicKey) {
    }

    private final UserService users;

    @Activate
    public UsersResource(@Reference UserService users) {
        this.users = users;
    }

    @Override
    public void routes(Routes r) {
        r.get("/users", Role.VIEWER, "Users the caller may see (admins: all; others: their account)")
                .returnsListOf(User.class).handle(call -> users.list(call.caller()));
        r.post("/users", Role.ADMIN, "Create a user").accepts(NewUser.class).returns(User.class).status(201)
                .handle(call -> {
                    NewUser u = call.body(NewUser.class);
                    call.auditTarget(u.name());
                    return users.create(call.caller(), u.name(), u.password(), Role.parse(u.role()), u.account());
                });
        r.get("/users/{name}", Role.VIEWER, "One user").returns(User.class)
                .handle(call -> users.get(call.caller(), call.param("name")));
        r.delete("/users/{name}", Role.ADMIN, "Remove a user with its tokens and keys").handle(call -> {
            call.auditTarget(call.param("name"));
            users.remove(call.caller(), call.param("name"));
            return null;
        });
        r.put("/users/{name}/password", Role.VIEWER,
                "Change a password (one's own with the current password; an admin for anyone)")
                .accepts(PasswordChange.class).handle(call -> {
                    PasswordChange p = call.body(PasswordChange.class);
                    call.auditTarget(call.param("name"));
                    users.changePassword(call.caller(), call.param("name"), p.currentPassword(), p.newPassword());
                    return null;
                });
        r.get("/users/{name}/keys", Role.VIEWER, "SSH keys that may log in as the user")
                .returnsListOf(AuthorizedKey.class).handle(call -> users.listKeys(call.caller(), call.param("name")));
        r.post("/users/{name}/keys", Role.VIEWER, "Authorize an SSH key (owner or admin)").accepts(NewKey.class)
                .returns(AuthorizedKey.class).status(201).handle(call -> {
                    NewKey k = call.body(NewKey.class);
                    call.auditTarget(call.param("name"));
                    return users.addKey(call.caller(), call.param("name"), k.publicKey());
                });
        r.delete("/users/{name}/keys", Role.VIEWER, "Remove an SSH key by its fingerprint (owner or admin)")
                .query("fingerprint", "string", "SHA256:... as listed").handle(call -> {
                    String fingerprint = call.query("fingerprint");
                    if (fingerprint == null) {
                        throw new InvalidInputException("fingerprint", "is required");
                    }
                    call.auditTarget(call.param("name") + " " + fingerprint);
                    users.removeKey(call.caller(), call.param("name"), fingerprint);
                    return null;
                });
    }
}
