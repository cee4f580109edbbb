package cairn.platform.api.security;

import cairn.platform.api.errors.CairnException;

/** Wrong or missing credentials. The message never says which part was wrong. */
public class AuthenticationException extends CairnException {

    private static final long serialVersionUID = 1L;

    public AuthenticationException(String message) {
        super(Kind.UNAUTHENTICATED, "unauthenticated", message);
    }
}
