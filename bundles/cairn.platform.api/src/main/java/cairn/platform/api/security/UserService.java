package cairn.platform.api.security;

import java.security.PublicKey;
import java.time.Duration;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Users, passwords, API tokens and SSH keys, stored in the metadata database.
 * Passwords are stored only as slow salted hashes; token secrets (256 random bits) only
 * as SHA-256 digests. Every mutating method checks the caller's role and writes the
 * audit log, including refusals.
 */
@ProviderType
public interface UserService {

    // --- authentication (rate-limited per user and per source address; failures audited)

    /** @throws AuthenticationException wrong name or password
     *  @throws LoginThrottledException  too many recent failures for the name or the source */
    Caller authenticate(String user, String password, String source);

    /** A bearer token's secret. */
    Caller authenticateToken(String secret, String source);

    /** An SSH public key offered for a user. */
    Caller authenticateKey(String user, PublicKey key, String source);

    // --- users

    List<User> list(Caller caller);

    User get(Caller caller, String name);

    /** Admin only. Password rules: at least 12 characters. */
    User create(Caller caller, String name, String password, Role role, String account);

    /** Admins for anyone; everyone for themselves, with their current password. */
    void changePassword(Caller caller, String name, String currentPassword, String newPassword);

    /** Admin only; the last admin cannot be removed. */
    void remove(Caller caller, String name);

    // --- API tokens (owner or admin)

    IssuedToken createToken(Caller caller, String owner, String name, Duration lifetime);

    List<ApiToken> listTokens(Caller caller, String owner);

    void revokeToken(Caller caller, String tokenId);

    // --- SSH keys (owner or admin)

    AuthorizedKey addKey(Caller caller, String owner, String authorizedKeysLine);

    List<AuthorizedKey> listKeys(Caller caller, String owner);

    void removeKey(Caller caller, String owner, String fingerprint);
}
