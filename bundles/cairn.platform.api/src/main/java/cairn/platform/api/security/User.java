package cairn.platform.api.security;

import java.time.Instant;

/** A user as shown to people; never carries the password hash. */
public record User(String name, String account, Role role, Instant createdAt, Instant passwordChangedAt) {
}
