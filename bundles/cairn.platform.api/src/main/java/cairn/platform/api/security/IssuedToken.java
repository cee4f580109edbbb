package cairn.platform.api.security;

/** A new token and its secret, which is never retrievable again. */
public record IssuedToken(ApiToken token, String secret) {
}
