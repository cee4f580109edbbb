package cairn.web.internal.rest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletPattern;

import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.platform.api.PlatformPids;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.errors.ForbiddenException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.health.HealthCheck;
import cairn.platform.api.health.HealthCheckResult;
import cairn.platform.api.security.AuthenticationException;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;
import cairn.platform.api.security.User;
import cairn.platform.api.security.UserService;
import cairn.web.internal.Json;
import cairn.web.internal.rest.Sessions.Session;
import jakarta.servlet.Servlet;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * The REST API under {@code /api/v1}: one servlet on the HTTP whiteboard that
 * authenticates, checks the route's role, reads and writes JSON with Jackson, maps
 * errors in one place and audits every mutating request.
 *
 * <p>Why plain servlets and Jackson rather than JAX-RS: the appliance already runs Felix
 * HTTP (Jetty 12, jakarta servlet whiteboard). The OSGi JAX-RS whiteboard
 * implementation (Aries JAX-RS with CXF) targets the javax namespace and the older
 * HTTP whiteboard, and would bring a second web stack of many bundles for what is here
 * a small routing table. A route table also lets the OpenAPI document be generated from
 * the very declarations that serve the requests, so the two cannot drift apart.
 *
 * <p>Authentication, in this order: {@code Authorization: Bearer <token>} or
 * {@code Basic} (scripts: no cookie, no CSRF), else the session cookie (browsers: a
 * mutating request must carry the session's CSRF token in {@value Sessions#CSRF_HEADER}).
 */
@Component(service = { Servlet.class, HealthCheck.class }, configurationPid = ApiServlet.PID,
        property = HealthCheck.NAME + "=web")
@HttpWhiteboardServletPattern(ApiServlet.PREFIX + "/*")
@Designate(ocd = ApiServlet.Config.class)
public class ApiServlet extends HttpServlet implements HealthCheck {

    public static final String PID = PlatformPids.WEB_API;
    public static final String PREFIX = "/api/v1";
    private static final long serialVersionUID = 1L;

    @ObjectClassDefinition(name = "Cairn REST API", description = "Browser sessions of the web admin UI")
    public @interface Config {
        @AttributeDefinition(description = "Minutes without a request after which a browser session ends", min = "1")
        int sessionIdleMinutes() default 30;

        @AttributeDefinition(description = "Hours after which a browser session ends regardless of use", min = "1")
        int sessionMaxHours() default 12;
    }

    private final transient UserService users;
    private final transient AuditLog audit;
    private final transient ObjectMapper json = Json.mapper();
    private final transient Sessions sessions;
    private final transient List<ApiResource> resources = new CopyOnWriteArrayList<>();
    private final transient ApiResource builtIn;
    private transient volatile List<Route> routes = List.of();
    /** Set once the HTTP whiteboard has put this servlet in service: the "web" health check. */
    private transient volatile boolean serving;

    @Activate
    public ApiServlet(@Reference UserService users, @Reference AuditLog audit, Config config) {
        this.users = users;
        this.audit = audit;
        this.sessions = new Sessions(Duration.ofMinutes(config.sessionIdleMinutes()),
                Duration.ofHours(config.sessionMaxHours()), Clock.systemUTC());
        this.builtIn = new SessionAndDocsResource();
        rebuild();
    }

    @Override
    public void init() {
        serving = true;
    }

    @Override
    public void destroy() {
        serving = false;
    }

    /** READY waits for this: a script that saw /health 200 must find the REST API answering. */
    @Override
    public HealthCheckResult check() {
        return serving ? HealthCheckResult.ok("REST API serving " + PREFIX + " with " + routes.size() + " routes")
                : HealthCheckResult.failed("REST API not yet in service");
    }

    /** Resources come and go with their components (and the services they call). */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC)
    void addResource(ApiResource resource) {
        resources.add(resource);
        rebuild();
    }

    void removeResource(ApiResource resource) {
        resources.remove(resource);
        rebuild();
    }

    private synchronized void rebuild() {
        if (builtIn == null) {
            return; // a resource bound before the constructor finished; the constructor rebuilds
        }
        List<Route> all = new ArrayList<>();
        List<ApiResource> current = new ArrayList<>(resources);
        current.add(0, builtIn);
        for (ApiResource r : current) {
            Routes collected = new Routes();
            r.routes(collected);
            all.addAll(collected.all());
        }
        all.sort((a, b) -> a.path.compareTo(b.path));
        routes = List.copyOf(all);
    }

    List<Route> routes() {
        return routes;
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getPathInfo() == null ? "/" : req.getPathInfo();
        String method = req.getMethod();
        resp.setHeader("Cache-Control", "no-store");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        Route route = null;
        Map<String, String> params = null;
        boolean pathKnown = false;
        for (Route r : routes) {
            Map<String, String> m = r.match(path);
            if (m != null) {
                pathKnown = true;
                if (r.method.equals(method)) {
                    route = r;
                    params = m;
                    break;
                }
            }
        }
        boolean mutating = !method.equals("GET") && !method.equals("HEAD");
        Caller caller = null;
        Call call = null;
        int status;
        String errorCode = null;
        try {
            if (route == null) {
                if (pathKnown) {
                    throw new CairnException(CairnException.Kind.INVALID_INPUT, ErrorMapper.METHOD_NOT_ALLOWED,
                            method + " is not supported on " + PREFIX + path);
                }
                throw new CairnException(CairnException.Kind.NOT_FOUND, "no_such_route",
                        "there is no API operation " + method + " " + PREFIX + path);
            }
            Authenticated auth = authenticate(req, route);
            caller = auth.caller;
            if (route.role != null) {
                if (caller == null) {
                    throw new AuthenticationException("log in, or send HTTP Basic credentials or a bearer token");
                }
                if (!caller.is(route.role)) {
                    throw new ForbiddenException("the " + route.role.id() + " role is needed for " + route.method
                            + " " + PREFIX + route.path + "; you are " + caller.role().id());
                }
            }
            if (auth.session != null && route.mutating()
                    && !sessions.csrfMatches(auth.session, req.getHeader(Sessions.CSRF_HEADER))) {
                throw new CairnException(CairnException.Kind.FORBIDDEN, "csrf_token_invalid",
                        "this browser session must send its CSRF token in the " + Sessions.CSRF_HEADER + " header");
            }
            call = new Call(req, resp, params, caller, json, route);
            Object body = route.handler.handle(call);
            status = call.status() != null ? call.status() : body == null && route.status == 200 ? 204 : route.status;
            if (body != Call.HANDLED) {
                resp.setStatus(status);
                if (body != null) {
                    resp.setContentType("application/json");
                    resp.setCharacterEncoding("UTF-8");
                    json.writeValue(resp.getOutputStream(), body);
                }
            } else {
                status = resp.getStatus();
            }
        } catch (Exception e) {
            ErrorMapper.ApiError error = ErrorMapper.map(e, method + " " + PREFIX + path);
            status = error.status();
            errorCode = error.error();
            writeError(resp, error);
        }
        if (mutating && route != null) {
            String target = call != null && call.auditTarget() != null ? call.auditTarget() : PREFIX + path;
            String actor = caller != null ? caller.user()
                    : call != null && call.auditActor() != null ? call.auditActor() : "-";
            audit.record(AuditEntry.of(actor, req.getRemoteAddr(), "http." + method.toLowerCase(), target,
                    errorCode == null ? "ok" : errorCode, status + " " + route.method + " " + PREFIX + route.path));
        }
    }

    private record Authenticated(Caller caller, Session session) {
    }

    private Authenticated authenticate(HttpServletRequest req, Route route) {
        String source = req.getRemoteAddr();
        String header = req.getHeader("Authorization");
        if (header != null) {
            String h = header.strip();
            if (h.regionMatches(true, 0, "Bearer ", 0, 7)) {
                return new Authenticated(users.authenticateToken(h.substring(7).strip(), source), null);
            }
            if (h.regionMatches(true, 0, "Basic ", 0, 6)) {
                String decoded;
                try {
                    decoded = new String(Base64.getDecoder().decode(h.substring(6).strip()), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    throw new AuthenticationException("the Basic credentials are not valid base64");
                }
                int colon = decoded.indexOf(':');
                if (colon < 0) {
                    throw new AuthenticationException("the Basic credentials must be user:password");
                }
                return new Authenticated(users.authenticate(decoded.substring(0, colon), decoded.substring(colon + 1),
                        source), null);
            }
            throw new AuthenticationException("unsupported Authorization scheme; use Basic or Bearer");
        }
        Optional<Session> session = sessions.find(cookie(req), source);
        if (session.isEmpty()) {
            return new Authenticated(null, null);
        }
        // The user is read again on every request: a removed user or a changed role takes
        // effect at once, and a password change ends the sessions opened before it.
        Session s = session.get();
        try {
            User u = users.get(Caller.system("web session"), s.caller().user());
            if (u.passwordChangedAt() != null && u.passwordChangedAt().isAfter(s.createdAt())) {
                sessions.remove(s.id());
                return new Authenticated(null, null);
            }
            return new Authenticated(new Caller(u.name(), u.account(), u.role(), source), s);
        } catch (NotFoundException e) {
            sessions.remove(s.id());
            return new Authenticated(null, null);
        }
    }

    private static String cookie(HttpServletRequest req) {
        Cookie[] cookies = req.getCookies();
        if (cookies != null) {
            for (Cookie c : cookies) {
                if (Sessions.COOKIE.equals(c.getName())) {
                    return c.getValue();
                }
            }
        }
        return null;
    }

    private void writeError(HttpServletResponse resp, ErrorMapper.ApiError error) throws IOException {
        if (resp.isCommitted()) {
            return;
        }
        resp.reset();
        resp.setHeader("Cache-Control", "no-store");
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setStatus(error.status());
        if (error.retryAfterSeconds() != null) {
            resp.setHeader("Retry-After", Long.toString(error.retryAfterSeconds()));
        }
        resp.setContentType("application/json");
        resp.setCharacterEncoding("UTF-8");
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("error", error.error());
        body.put("message", error.message());
        if (error.field() != null) {
            body.put("field", error.field());
        }
        json.writeValue(resp.getOutputStream(), body);
    }

    // ------------------------------------------------------------------ built-in routes

    /** What a login answers: who is logged in, and the CSRF token for the page to send back. */
    public record SessionInfo(String user, String account, Role role, String csrfToken, long idleTimeoutSeconds) {
    }

    /** A login request. */
    public record Login(String user, String password) {
    }

    /** Login and logout, and the OpenAPI document generated from the route table. */
    private final class SessionAndDocsResource implements ApiResource {
        @Override
        public void routes(Routes r) {
            r.post("/session", null, "Log in with a user name and password; sets the session cookie")
                    .accepts(Login.class).returns(SessionInfo.class).handle(call -> {
                        Login login = call.body(Login.class);
                        if (login.user() == null || login.user().isBlank()) {
                            throw new cairn.platform.api.errors.InvalidInputException("user", "is required");
                        }
                        if (login.password() == null || login.password().isEmpty()) {
                            throw new cairn.platform.api.errors.InvalidInputException("password", "is required");
                        }
                        Caller caller = users.authenticate(login.user(), login.password(), call.source());
                        sessions.remove(cookie(call.request()));
                        Session s = sessions.create(caller);
                        call.response().addHeader("Set-Cookie", Sessions.COOKIE + "=" + s.id()
                                + "; Path=/; HttpOnly; Secure; SameSite=Strict");
                        call.auditTarget("session of " + caller.user());
                        call.auditActor(caller.user());
                        return info(s.caller(), s.csrfToken());
                    });
            r.get("/session", Role.VIEWER, "Who is logged in (and the CSRF token of a browser session)")
                    .returns(SessionInfo.class).handle(call -> {
                        Optional<Session> s = sessions.find(cookie(call.request()), call.source());
                        return info(call.caller(), s.map(Session::csrfToken).orElse(null));
                    });
            r.delete("/session", Role.VIEWER, "Log out: ends the browser session").handle(call -> {
                sessions.remove(cookie(call.request()));
                call.response().addHeader("Set-Cookie", Sessions.COOKIE
                        + "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
                call.auditTarget("session of " + call.caller().user());
                return null;
            });
            r.get("/openapi.json", null, "This document").returns(Map.class)
                    .handle(call -> new OpenApi(ApiServlet.this::routes).document());
        }

        private SessionInfo info(Caller caller, String csrf) {
            return new SessionInfo(caller.user(), caller.account(), caller.role(), csrf,
                    sessions.idleTimeout().toSeconds());
        }
    }

}
