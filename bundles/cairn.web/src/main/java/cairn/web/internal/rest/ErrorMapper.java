package cairn.web.internal.rest;

import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.LoginThrottledException;

/**
 * The one place that turns an exception into an HTTP status and the body
 * {@code {"error": code, "message": text}} (plus {@code "field"} for an invalid field).
 * Anything that is not a {@link CairnException} is a bug: it is logged with an incident
 * id and the client gets that id, never a stack trace.
 */
final class ErrorMapper {

    static final String METHOD_NOT_ALLOWED = "method_not_allowed";
    private static final Logger LOG = LoggerFactory.getLogger(ErrorMapper.class);

    /** The mapped error: status, body fields, and the Retry-After seconds when throttled. */
    record ApiError(int status, String error, String message, String field, Long retryAfterSeconds) {
    }

    private ErrorMapper() {
    }

    static ApiError map(Throwable t, String what) {
        if (t instanceof CairnException e) {
            String field = e instanceof InvalidInputException i ? i.field() : null;
            Long retry = e instanceof LoginThrottledException l ? Math.max(1, l.retryAfter().toSeconds()) : null;
            if (e.kind() == CairnException.Kind.UNAVAILABLE) {
                LOG.warn("{}: {}", what, e.getMessage());
            }
            int status = METHOD_NOT_ALLOWED.equals(e.code()) ? 405 : status(e.kind());
            return new ApiError(status, e.code(), e.getMessage(), field, retry);
        }
        String incident = UUID.randomUUID().toString().substring(0, 8);
        LOG.error("{} failed (incident {})", what, incident, t);
        return new ApiError(500, "internal_error", "the appliance could not complete the request (incident "
                + incident + " in the log)", null, null);
    }

    static int status(CairnException.Kind kind) {
        return switch (kind) {
        case INVALID_INPUT -> 400;
        case UNAUTHENTICATED -> 401;
        case FORBIDDEN -> 403;
        case NOT_FOUND -> 404;
        case CONFLICT -> 409;
        case THROTTLED -> 429;
        case UNAVAILABLE -> 503;
        };
    }
}
