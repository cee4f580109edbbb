package cairn.web.internal.ui;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.util.Map;
import java.util.regex.Pattern;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardServletPattern;

import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

/**
 * The web admin UI: static files from this bundle's {@code /ui} folder under {@code /ui/},
 * and {@code /} redirecting there (this is also the default servlet: unknown paths are 404s). Only plain file names made of safe characters are
 * looked up, so no request can name anything outside the folder; everything else is a
 * 404. The pages load no inline script, which the Content-Security-Policy enforces.
 */
@Component(service = Servlet.class)
@HttpWhiteboardServletPattern({ "/ui/*", "/" })
public class StaticServlet extends HttpServlet {

    private static final long serialVersionUID = 1L;
    private static final String FOLDER = "/ui";
    /** Folders and files of letters, digits, '-', '_' and one dot before the extension. */
    private static final Pattern SAFE = Pattern.compile("(/[A-Za-z0-9_-]+)*/[A-Za-z0-9_-]+\\.[a-z0-9]+");
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "js",
            "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "svg", "image/svg+xml", "png",
            "image/png", "ico", "image/x-icon", "json", "application/json");
    static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private final transient BundleContext context;

    @Activate
    public StaticServlet(BundleContext context) {
        this.context = context;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        if (!"/ui".equals(req.getServletPath())) {
            // the default servlet: only the root redirects, every other unknown path is a 404
            String uri = req.getRequestURI();
            if ("/".equals(uri) || uri.isEmpty()) {
                resp.sendRedirect("/ui/");
            } else {
                resp.setHeader("X-Content-Type-Options", "nosniff");
                resp.sendError(HttpServletResponse.SC_NOT_FOUND);
            }
            return;
        }
        String path = req.getPathInfo();
        if (path == null) {
            resp.sendRedirect("/ui/");
            return;
        }
        if (path.equals("/")) {
            path = "/index.html";
        }
        String extension = path.substring(path.lastIndexOf('.') + 1);
        URL url = SAFE.matcher(path).matches() && TYPES.containsKey(extension)
                ? context.getBundle().getEntry(FOLDER + path) : null;
        if (url == null) {
            resp.setHeader("X-Content-Type-Options", "nosniff");
            resp.sendError(HttpServletResponse.SC_NOT_FOUND);
            return;
        }
        resp.setContentType(TYPES.get(extension));
        resp.setHeader("X-Content-Type-Options", "nosniff");
        resp.setHeader("Content-Security-Policy", CSP);
        resp.setHeader("Referrer-Policy", "no-referrer");
        resp.setHeader("X-Frame-Options", "DENY");
        // The UI is small and changes with every upgrade: always revalidate.
        resp.setHeader("Cache-Control", "no-cache");
        try (InputStream in = url.openStream()) {
            in.transferTo(resp.getOutputStream());
        }
    }
}
