package cairn.platform.api.errors;

/** Base of every domain error; {@link #kind()} decides the HTTP status and exit code. */
public class CairnException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What went wrong, from the caller's point of view. */
    public enum Kind {
        /** 400: the request is malformed or a field is invalid. */
        INVALID_INPUT,
        /** 401: no valid credentials. */
        UNAUTHENTICATED,
        /** 403: the caller's role or account does not allow it. */
        FORBIDDEN,
        /** 404: no such thing (or not visible to this account). */
        NOT_FOUND,
        /** 409: the current state does not allow it (attached volume, name taken). */
        CONFLICT,
        /** 429: too many attempts; retry later. */
        THROTTLED,
        /** 503: a dependency is away (restarting, upgrading); retry later. */
        UNAVAILABLE
    }

    private final Kind kind;
    private final String code;

    public CairnException(Kind kind, String code, String message) {
        super(message);
        this.kind = kind;
        this.code = code;
    }

    public CairnException(Kind kind, String code, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.code = code;
    }

    public Kind kind() {
        return kind;
    }

    /** A stable, machine-readable code such as {@code invalid_field} or {@code volume_attached}. */
    public String code() {
        return code;
    }
}
