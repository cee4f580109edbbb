package cairn.console.internal;

import java.util.ArrayList;
import java.util.List;

import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import cairn.console.api.ArgumentCompleter;
import cairn.console.api.RequiredRole;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.security.AuthorizedKey;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;
import cairn.platform.api.security.User;
import cairn.platform.api.security.UserService;

/**
 * {@code user:*}: users and their SSH keys, through the same {@link UserService} the web
 * uses (which checks ownership and audits each change, so the console does not audit them again). Passwords never need to be on the
 * command line: without {@code --password} they are asked with a masked prompt, or read
 * as one line from standard input ({@code echo ... | ssh ... user:add bob}).
 */
@Component(service = UserCommands.class)
@GogoCommand(scope = "user", function = { "list", "add", "passwd", "remove", "keys", "key-add", "key-remove" })
public class UserCommands implements ArgumentCompleter {

    /** A message for commands that return nothing else. */
    public record Done(String result) {
    }

    private static final String ABSENT = "";

    /**
     * Dynamic: the commands stay while the platform is updated and answer "unavailable"
     * meanwhile, instead of vanishing from help and completion.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile UserService userService;

    private UserService users() {
        UserService u = userService;
        if (u == null) {
            throw new CairnException(CairnException.Kind.UNAVAILABLE, "unavailable",
                    "the user service is not available right now; try again shortly");
        }
        return u;
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("list the users you may see with their role and account")
    public List<User> list(Caller caller) {
        return users().list(caller);
    }

    @RequiredRole(value = Role.ADMIN, auditedByService = true)
    @Descriptor("create a user (the password is asked when not given)")
    public User add(CommandSession session,
            @Descriptor("role: admin, operator or viewer") @Parameter(names = { "-r", "--role" }, absentValue = "viewer") String role,
            @Descriptor("account (tenant) the user belongs to; yours by default") @Parameter(names = { "-a", "--account" }, absentValue = ABSENT) String account,
            @Descriptor("password, at least 12 characters") @Parameter(names = { "-p", "--password" }, absentValue = ABSENT) String password,
            Caller caller, @Descriptor("user name") String name) {
        Role parsed = Role.parse(role);
        String secret = password.isEmpty() ? secret(session, "password", "Password for " + name + ": ") : password;
        return users().create(caller, name, secret, parsed, account.isEmpty() ? caller.account() : account);
    }

    // Every user may change their own password; the user service refuses anyone else's unless
    // the caller is an admin.
    @RequiredRole(value = Role.VIEWER, auditedByService = true)
    @Descriptor("change a password: yours (give the current one) or, as admin, anyone's")
    public Done passwd(CommandSession session,
            @Descriptor("the new password, at least 12 characters") @Parameter(names = { "-p", "--password" }, absentValue = ABSENT) String password,
            @Descriptor("your current password, when changing your own") @Parameter(names = "--current", absentValue = ABSENT) String current,
            Caller caller, @Descriptor("user name") String name) {
        String currentPassword = current;
        if (currentPassword.isEmpty() && name.equals(caller.user()) && caller.role() != Role.ADMIN) {
            currentPassword = secret(session, "current", "Current password: ");
        }
        String secret = password.isEmpty() ? secret(session, "password", "New password for " + name + ": ") : password;
        users().changePassword(caller, name, currentPassword.isEmpty() ? null : currentPassword, secret);
        return new Done("password of " + name + " changed");
    }

    @RequiredRole(value = Role.ADMIN, auditedByService = true)
    @Descriptor("remove a user and their keys and tokens")
    public Done remove(Caller caller, @Descriptor("user name") String name) {
        users().remove(caller, name);
        return new Done("user " + name + " removed");
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("list a user's SSH keys")
    public List<AuthorizedKey> keys(Caller caller, @Descriptor("user name") String name) {
        return users().listKeys(caller, name);
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("authorize an SSH public key for a user (quote the key line)")
    public AuthorizedKey keyAdd(Caller caller, @Descriptor("user name") String name,
            @Descriptor("public key as in authorized_keys: 'ssh-ed25519 AAAA... comment'") String key) {
        return users().addKey(caller, name, key);
    }

    @RequiredRole(value = Role.OPERATOR, auditedByService = true)
    @Descriptor("remove one of a user's SSH keys by its fingerprint (see user:keys)")
    public Done keyRemove(Caller caller, @Descriptor("user name") String name,
            @Descriptor("fingerprint, SHA256:...") String fingerprint) {
        users().removeKey(caller, name, fingerprint);
        return new Done("key " + fingerprint + " of " + name + " removed");
    }

    private static String secret(CommandSession session, String field, String prompt) {
        if (session instanceof ConsoleSession console) {
            return console.readSecret(field, prompt);
        }
        throw new IllegalArgumentException("give the " + field + " with --" + field);
    }

    /** The user name (first argument) of every function; fingerprints for key-remove. */
    @Override
    public List<String> complete(Caller caller, String function, List<String> words) {
        List<String> out = new ArrayList<>();
        if (words.size() <= 1 && !function.equals("list")) {
            users().list(caller).forEach(u -> out.add(u.name()));
        } else if (words.size() == 2 && function.equals("key-remove")) {
            users().listKeys(caller, words.get(0)).forEach(k -> out.add(k.fingerprint()));
        }
        return out;
    }
}
