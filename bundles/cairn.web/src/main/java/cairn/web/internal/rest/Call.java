package cairn.web.internal.rest;

import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;

import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Caller;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/** One request as a handler sees it: who calls, the path parameters, the query and the body. */
public final class Call {

    /** Returned by a handler that wrote the response itself. */
    public static final Object HANDLED = new Object();
    private static final int MAX_BODY = 64 * 1024;

    private final HttpServletRequest request;
    private final HttpServletResponse response;
    private final Map<String, String> params;
    private final Caller caller;
    private final ObjectMapper json;
    private final Route route;
    private String auditTarget;
    private String auditActor;

    Call(HttpServletRequest request, HttpServletResponse response, Map<String, String> params, Caller caller,
            ObjectMapper json, Route route) {
        this.request = request;
        this.response = response;
        this.params = params;
        this.caller = caller;
        this.json = json;
        this.route = route;
    }

    /** The authenticated caller; null only on routes that need no authentication. */
    public Caller caller() {
        return caller;
    }

    public String source() {
        return request.getRemoteAddr();
    }

    /** A path parameter, URL-decoded. */
    public String param(String name) {
        String raw = params.get(name);
        return raw == null ? null : URLDecoder.decode(raw, StandardCharsets.UTF_8);
    }

    public String query(String name) {
        String v = request.getParameter(name);
        return v == null || v.isBlank() ? null : v.strip();
    }

    public int queryInt(String name, int fallback, int min, int max) {
        String v = query(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw new InvalidInputException(name, "must be between " + min + " and " + max + ", was " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new InvalidInputException(name, "must be a whole number, was '" + v + "'");
        }
    }

    /** An ISO-8601 instant such as {@code 2026-01-31T12:00:00Z}. */
    public Instant queryInstant(String name) {
        String v = query(name);
        if (v == null) {
            return null;
        }
        try {
            return Instant.parse(v);
        } catch (DateTimeParseException e) {
            throw new InvalidInputException(name, "must be an ISO-8601 time such as 2026-01-31T12:00:00Z, was '" + v + "'");
        }
    }

    /** The JSON body read into the route's record; malformed JSON and unknown fields are 400s. */
    public <T> T body(Class<T> type) {
        String contentType = request.getContentType();
        if (contentType == null || !contentType.toLowerCase().startsWith("application/json")) {
            throw new CairnException(CairnException.Kind.INVALID_INPUT, "unsupported_media_type",
                    "the request body must be JSON with Content-Type: application/json");
        }
        try (InputStream in = request.getInputStream()) {
            byte[] bytes = in.readNBytes(MAX_BODY + 1);
            if (bytes.length > MAX_BODY) {
                throw new CairnException(CairnException.Kind.INVALID_INPUT, "body_too_large",
                        "the request body is larger than " + MAX_BODY + " bytes");
            }
            if (bytes.length == 0) {
                throw new CairnException(CairnException.Kind.INVALID_INPUT, "malformed_json", "the request body is empty");
            }
            T value = json.readValue(bytes, type);
            if (value == null) {
                throw new CairnException(CairnException.Kind.INVALID_INPUT, "malformed_json",
                        "the request body must be a JSON object");
            }
            return value;
        } catch (UnrecognizedPropertyException e) {
            throw new InvalidInputException(e.getPropertyName(), "is not a known field (known: "
                    + e.getKnownPropertyIds() + ")");
        } catch (MismatchedInputException e) {
            if (!e.getPath().isEmpty() && e.getPath().get(0).getFieldName() != null) {
                throw new InvalidInputException(e.getPath().get(0).getFieldName(), "has the wrong type for this field");
            }
            throw new CairnException(CairnException.Kind.INVALID_INPUT, "malformed_json",
                    "the request body must be a JSON object with the documented fields");
        } catch (JsonProcessingException e) {
            throw new CairnException(CairnException.Kind.INVALID_INPUT, "malformed_json",
                    "the request body is not valid JSON for this operation: " + e.getOriginalMessage()
                            + (e.getLocation() != null ? " (line " + e.getLocation().getLineNr() + ", column "
                                    + e.getLocation().getColumnNr() + ")" : ""));
        } catch (IOException e) {
            throw new CairnException(CairnException.Kind.INVALID_INPUT, "malformed_json",
                    "the request body could not be read: " + e.getMessage());
        }
    }

    /** Names what a mutating request acted on, for the audit entry the servlet writes. */
    public void auditTarget(String target) {
        this.auditTarget = target;
    }

    String auditTarget() {
        return auditTarget;
    }

    /** Names who acted when the request itself carried no credentials (a login). */
    public void auditActor(String user) {
        this.auditActor = user;
    }

    String auditActor() {
        return auditActor;
    }

    public HttpServletRequest request() {
        return request;
    }

    public HttpServletResponse response() {
        return response;
    }

    Route route() {
        return route;
    }
}
