package cairn.web.internal.resources;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

import cairn.platform.api.AppliancePaths;
import cairn.platform.api.errors.CairnException;
import cairn.platform.api.security.Role;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Call;
import cairn.web.internal.rest.Routes;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.http.HttpServletResponse;

/**
 * {@code /logs}: the last lines of {@code DATA/log/cairn.log}, and a live tail as
 * server-sent events. A tail holds one request thread, so their number is bounded;
 * deactivation ends every tail.
 */
@Component(service = ApiResource.class)
public class LogsResource implements ApiResource {

    /** Recent lines, oldest first. */
    public record LogLines(String file, List<String> lines) {
    }

    private static final int MAX_TAILS = 8;
    private static final long POLL_MILLIS = 250;
    private static final long KEEPALIVE_MILLIS = 15_000;
    private static final int MAX_TAIL_BYTES = 4 * 1024 * 1024;

    private final Path file;
    private final Semaphore tails = new Semaphore(MAX_TAILS);
    private final Object wakeUp = new Object();
    private volatile boolean closed;

    @Activate
    public LogsResource(BundleContext context) {
        String data = context.getProperty(AppliancePaths.DATA);
        this.file = Path.of(data == null ? "data" : data, "log", "cairn.log");
    }

    @Deactivate
    void deactivate() {
        closed = true;
        synchronized (wakeUp) {
            wakeUp.notifyAll();
        }
    }

    @Override
    public void routes(Routes r) {
        r.get("/logs", Role.OPERATOR, "The last lines of the appliance log")
                .query("lines", "integer", "how many, 1-5000 (200)").returns(LogLines.class)
                .handle(call -> new LogLines(file.toString(), lastLines(call.queryInt("lines", 200, 1, 5000))));
        r.get("/logs/stream", Role.OPERATOR, "Live tail of the appliance log as server-sent events, one line per event")
                .produces("text/event-stream").handle(this::stream);
    }

    List<String> lastLines(int n) throws IOException {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long length = raf.length();
            long start = Math.max(0, length - MAX_TAIL_BYTES);
            byte[] bytes = new byte[(int) (length - start)];
            raf.seek(start);
            raf.readFully(bytes);
            String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\n");
            int from = start > 0 ? 1 : 0; // the first line of a partial read is cut
            List<String> result = new ArrayList<>();
            for (int i = Math.max(from, lines.length - n); i < lines.length; i++) {
                result.add(lines[i]);
            }
            return result;
        }
    }

    private Object stream(Call call) throws Exception {
        if (!tails.tryAcquire()) {
            throw new CairnException(CairnException.Kind.UNAVAILABLE, "too_many_tails",
                    "already " + MAX_TAILS + " live tails; close one and try again");
        }
        try {
            HttpServletResponse resp = call.response();
            resp.setStatus(200);
            resp.setContentType("text/event-stream");
            resp.setCharacterEncoding("UTF-8");
            resp.setHeader("X-Accel-Buffering", "no");
            ServletOutputStream out = resp.getOutputStream();
            out.write(": tail of cairn.log\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            long position = Files.isRegularFile(file) ? Files.size(file) : 0;
            long lastWrite = System.currentTimeMillis();
            StringBuilder partial = new StringBuilder();
            while (!closed) {
                long size = Files.isRegularFile(file) ? Files.size(file) : 0;
                if (size < position) {
                    position = 0; // rolled over: the new file starts from its beginning
                }
                if (size > position) {
                    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
                        raf.seek(position);
                        byte[] chunk = new byte[(int) Math.min(size - position, 1024 * 1024)];
                        raf.readFully(chunk);
                        position += chunk.length;
                        partial.append(new String(chunk, StandardCharsets.UTF_8));
                    }
                    int nl;
                    StringBuilder events = new StringBuilder();
                    while ((nl = partial.indexOf("\n")) >= 0) {
                        String line = partial.substring(0, nl).replace("\r", "");
                        partial.delete(0, nl + 1);
                        events.append("data: ").append(line).append("\n\n");
                    }
                    if (events.length() > 0) {
                        out.write(events.toString().getBytes(StandardCharsets.UTF_8));
                        out.flush();
                        lastWrite = System.currentTimeMillis();
                    }
                } else if (System.currentTimeMillis() - lastWrite > KEEPALIVE_MILLIS) {
                    out.write(": keepalive\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush(); // fails once the client has gone, which ends the loop
                    lastWrite = System.currentTimeMillis();
                }
                synchronized (wakeUp) {
                    if (!closed) {
                        wakeUp.wait(POLL_MILLIS);
                    }
                }
            }
        } catch (IOException clientGone) {
            // the browser closed the page or the connection dropped
        } finally {
            tails.release();
        }
        return Call.HANDLED;
    }
}
