package cairn.web.internal.rest;

import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import cairn.platform.api.security.Role;

/**
 * The OpenAPI 3.0 document, generated from the live route table: paths, methods,
 * roles, parameters, and the JSON schemas of the records that requests and responses
 * are read into and written from. What is documented is what is served.
 */
final class OpenApi {

    private final Supplier<List<Route>> routes;
    private final Map<String, Object> schemas = new TreeMap<>();

    OpenApi(Supplier<List<Route>> routes) {
        this.routes = routes;
    }

    Map<String, Object> document() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("openapi", "3.0.3");
        doc.put("info", Map.of("title", "Cairn appliance API", "version", "1",
                "description", "Every operation needs credentials unless it says otherwise: HTTP Basic, a bearer token"
                        + " (POST /tokens), or the browser session cookie from POST /session, whose mutating requests"
                        + " must send the session's csrfToken in the " + Sessions.CSRF_HEADER + " header. Errors are"
                        + " {\"error\": code, \"message\": text} with \"field\" naming an invalid field."));
        doc.put("servers", List.of(Map.of("url", ApiServlet.PREFIX)));
        Map<String, Object> paths = new TreeMap<>();
        for (Route r : routes.get()) {
            @SuppressWarnings("unchecked")
            Map<String, Object> item = (Map<String, Object>) paths.computeIfAbsent(r.path, p -> new LinkedHashMap<>());
            item.put(r.method.toLowerCase(Locale.ROOT), operation(r));
        }
        doc.put("paths", paths);
        schemas.put("Error", objectSchema(Map.of("error", Map.of("type", "string"), "message", Map.of("type", "string"),
                "field", Map.of("type", "string")), List.of("error", "message")));
        Map<String, Object> security = new LinkedHashMap<>();
        security.put("basic", Map.of("type", "http", "scheme", "basic"));
        security.put("bearer", Map.of("type", "http", "scheme", "bearer"));
        security.put("session", Map.of("type", "apiKey", "in", "cookie", "name", Sessions.COOKIE));
        doc.put("components", Map.of("schemas", schemas, "securitySchemes", security));
        doc.put("security", List.of(Map.of("basic", List.of()), Map.of("bearer", List.of()), Map.of("session", List.of())));
        return doc;
    }

    private Map<String, Object> operation(Route r) {
        Map<String, Object> op = new LinkedHashMap<>();
        op.put("summary", r.summary);
        op.put("operationId", operationId(r));
        op.put("x-cairn-role", r.role == null ? "none" : r.role.id());
        if (r.role == null) {
            op.put("security", List.of());
        }
        List<Object> parameters = new ArrayList<>();
        for (String p : r.params()) {
            parameters.add(Map.of("name", p, "in", "path", "required", true, "schema", Map.of("type", "string")));
        }
        for (Route.QueryParam q : r.query) {
            parameters.add(Map.of("name", q.name(), "in", "query", "required", false, "description", q.description(),
                    "schema", Map.of("type", q.type())));
        }
        if (!parameters.isEmpty()) {
            op.put("parameters", parameters);
        }
        if (r.requestBody != null) {
            op.put("requestBody", Map.of("required", true,
                    "content", Map.of("application/json", Map.of("schema", schemaOf(r.requestBody)))));
        }
        Map<String, Object> responses = new LinkedHashMap<>();
        if (r.response != null) {
            Object schema = r.response == Map.class ? Map.of("type", "object") : schemaOf(r.response);
            if (r.responseIsList) {
                schema = Map.of("type", "array", "items", schema);
            }
            responses.put(Integer.toString(r.status), Map.of("description", "success",
                    "content", Map.of(r.responseContentType, Map.of("schema", schema))));
        } else if (!r.responseContentType.equals("application/json")) {
            responses.put("200", Map.of("description", "success",
                    "content", Map.of(r.responseContentType, Map.of("schema", Map.of("type", "string")))));
        } else {
            responses.put("204", Map.of("description", "done"));
        }
        Map<String, Object> error = Map.of("content",
                Map.of("application/json", Map.of("schema", Map.of("$ref", "#/components/schemas/Error"))));
        responses.put("400", with(error, "invalid request: malformed JSON or an invalid field"));
        if (r.role != null) {
            responses.put("401", with(error, "no valid credentials"));
            responses.put("403", with(error, "the role is not enough, or a browser session sent no CSRF token"));
        }
        if (!r.params().isEmpty()) {
            responses.put("404", with(error, "no such object"));
        }
        if (r.mutating()) {
            responses.put("409", with(error, "the current state does not allow it"));
        }
        responses.put("429", with(error, "too many failed logins"));
        op.put("responses", responses);
        return op;
    }

    private static Map<String, Object> with(Map<String, Object> base, String description) {
        Map<String, Object> m = new LinkedHashMap<>(base);
        m.put("description", description);
        return m;
    }

    private static String operationId(Route r) {
        StringBuilder id = new StringBuilder(r.method.toLowerCase(Locale.ROOT));
        for (String part : r.path.split("[/{}.]+")) {
            if (!part.isEmpty()) {
                id.append(Character.toUpperCase(part.charAt(0))).append(part.substring(1));
            }
        }
        return id.toString();
    }

    /** A $ref to the record's schema, adding it (and the records it holds) to the components. */
    private Object schemaOf(Type type) {
        if (type instanceof ParameterizedType p) {
            Type raw = p.getRawType();
            if (raw == List.class) {
                return Map.of("type", "array", "items", schemaOf(p.getActualTypeArguments()[0]));
            }
            return Map.of("type", "object");
        }
        Class<?> c = (Class<?>) type;
        if (c == String.class) {
            return Map.of("type", "string");
        }
        if (c == Instant.class) {
            return Map.of("type", "string", "format", "date-time");
        }
        if (c == int.class || c == Integer.class || c == long.class || c == Long.class) {
            return Map.of("type", "integer");
        }
        if (c == double.class || c == Double.class || c == float.class || c == Float.class) {
            return Map.of("type", "number");
        }
        if (c == boolean.class || c == Boolean.class) {
            return Map.of("type", "boolean");
        }
        if (c == Role.class) {
            return Map.of("type", "string", "enum", List.of("admin", "operator", "viewer"));
        }
        if (c.isEnum()) {
            List<String> names = new ArrayList<>();
            for (Object e : c.getEnumConstants()) {
                names.add(((Enum<?>) e).name());
            }
            return Map.of("type", "string", "enum", names);
        }
        if (c.isRecord()) {
            String name = c.getSimpleName();
            if (!schemas.containsKey(name)) {
                schemas.put(name, Map.of()); // a placeholder stops recursion
                Map<String, Object> properties = new LinkedHashMap<>();
                List<String> required = new ArrayList<>();
                for (RecordComponent rc : c.getRecordComponents()) {
                    properties.put(rc.getName(), schemaOf(rc.getGenericType()));
                    required.add(rc.getName());
                }
                schemas.put(name, objectSchema(properties, required));
            }
            return Map.of("$ref", "#/components/schemas/" + name);
        }
        if (List.class.isAssignableFrom(c)) {
            return Map.of("type", "array");
        }
        return Map.of("type", "object");
    }

    private static Map<String, Object> objectSchema(Map<String, Object> properties, List<String> required) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("type", "object");
        s.put("properties", properties);
        s.put("required", required);
        return s;
    }
}
