package cairn.platform.api.security;

import java.time.Instant;

/** An API token's public part; the secret is shown once, at creation, and stored hashed. */
public record ApiToken(String id, String owner, String name, Instant createdAt, Instant expiresAt,
        Instant lastUsedAt) {
}
