package cairn.platform.api.security;

import java.util.Locale;

import cairn.platform.api.errors.InvalidInputException;

/** Roles in increasing power: a role may do everything the roles below it may. */
public enum Role {
    /** Reads everything its account may see, changes nothing. */
    VIEWER,
    /** Also creates, changes and deletes the account's resources (volumes, snapshots...). */
    OPERATOR,
    /** Also manages users, tokens of others, bundles and upgrades, and sees every account. */
    ADMIN;

    public boolean includes(Role required) {
        return compareTo(required) >= 0;
    }

    /** The lower-case name used in JSON, SSH and the database. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Role parse(String value) {
        if (value != null) {
            for (Role r : values()) {
                if (r.id().equals(value.trim().toLowerCase(Locale.ROOT))) {
                    return r;
                }
            }
        }
        throw new InvalidInputException("role", "must be one of admin, operator, viewer; was '" + value + "'");
    }
}
