package cairn.platform.api.security;

import java.time.Duration;

import cairn.platform.api.errors.CairnException;

/** Too many failed logins for this user or from this address. */
public class LoginThrottledException extends CairnException {

    private static final long serialVersionUID = 1L;

    private final Duration retryAfter;

    public LoginThrottledException(Duration retryAfter) {
        super(Kind.THROTTLED, "too_many_attempts",
                "too many failed logins; try again in " + Math.max(1, retryAfter.toSeconds()) + " s");
        this.retryAfter = retryAfter;
    }

    public Duration retryAfter() {
        return retryAfter;
    }
}
