package cairn.web.internal.rest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import cairn.platform.api.security.Role;

/**
 * One operation: method, path template ({@code /users/{name}}), the least role that may
 * call it (null: no authentication), and what the OpenAPI document says about it.
 */
public final class Route {

    private static final Pattern PARAM = Pattern.compile("\\{([a-zA-Z]+)\\}");

    final String method;
    final String path;
    final Role role;
    final String summary;
    private final Pattern regex;
    private final List<String> params = new ArrayList<>();
    Class<?> requestBody;
    Class<?> response;
    boolean responseIsList;
    String responseContentType = "application/json";
    int status = 200;
    final List<QueryParam> query = new ArrayList<>();
    Handler handler;

    record QueryParam(String name, String type, String description) {
    }

    Route(String method, String path, Role role, String summary) {
        this.method = method;
        this.path = path;
        this.role = role;
        this.summary = summary;
        StringBuilder re = new StringBuilder();
        Matcher m = PARAM.matcher(path);
        int last = 0;
        while (m.find()) {
            re.append(Pattern.quote(path.substring(last, m.start()))).append("([^/]+)");
            params.add(m.group(1));
            last = m.end();
        }
        re.append(Pattern.quote(path.substring(last)));
        this.regex = Pattern.compile(re.toString());
    }

    /** The request body is JSON read into this record; unknown fields are refused. */
    public Route accepts(Class<?> body) {
        this.requestBody = body;
        return this;
    }

    public Route returns(Class<?> body) {
        this.response = body;
        return this;
    }

    public Route returnsListOf(Class<?> element) {
        this.response = element;
        this.responseIsList = true;
        return this;
    }

    /** A non-JSON response the handler writes itself (a text stream). */
    public Route produces(String contentType) {
        this.responseContentType = contentType;
        return this;
    }

    public Route status(int code) {
        this.status = code;
        return this;
    }

    public Route query(String name, String type, String description) {
        query.add(new QueryParam(name, type, description));
        return this;
    }

    public void handle(Handler h) {
        this.handler = Objects.requireNonNull(h);
    }

    boolean mutating() {
        return !method.equals("GET") && !method.equals("HEAD");
    }

    List<String> params() {
        return params;
    }

    /** The path parameters when the path matches, else null. */
    Map<String, String> match(String requestPath) {
        Matcher m = regex.matcher(requestPath);
        if (!m.matches()) {
            return null;
        }
        Map<String, String> values = new java.util.HashMap<>();
        for (int i = 0; i < params.size(); i++) {
            values.put(params.get(i), m.group(i + 1));
        }
        return values;
    }

    @Override
    public String toString() {
        return method + " " + path;
    }
}
