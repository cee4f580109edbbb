package cairn.platform.api.security;

/**
 * Who is asking, established by authentication at the edge (web or SSH) and passed to
 * every service call that checks permissions or writes the audit log.
 *
 * @param user    the user name
 * @param account the account (tenant) the user belongs to
 * @param role    the user's role
 * @param source  where the request came from, e.g. {@code 10.0.0.5}, {@code ssh:10.0.0.5}
 */
public record Caller(String user, String account, Role role, String source) {

    /** The appliance itself, for actions nobody asked for (takeover, background tasks). */
    public static Caller system(String what) {
        return new Caller("system", "system", Role.ADMIN, what);
    }

    public boolean is(Role required) {
        return role.includes(required);
    }

    /** Admins see every account; everyone else only their own. */
    public boolean canSee(String resourceAccount) {
        return role == Role.ADMIN || account.equals(resourceAccount);
    }
}
