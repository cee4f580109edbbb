package cairn.console.internal;

import java.io.IOException;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import cairn.console.api.RequiredRole;
import cairn.platform.api.AppliancePaths;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.errors.NotFoundException;
import cairn.platform.api.security.Role;

/**
 * {@code log:tail}: the last lines of {@code DATA/log/cairn.log}, then new lines as they
 * are written, until Ctrl-C (or the client disconnects). Follows the file across a roll.
 */
@Component(service = LogCommands.class)
@GogoCommand(scope = "log", function = "tail")
public class LogCommands {

    private static final long POLL_MILLIS = 200;

    private final Path file;

    @Activate
    public LogCommands(BundleContext context) {
        String dir = System.getProperty("cairn.log.dir");
        if (dir == null || dir.isBlank()) {
            dir = Path.of(Objects.requireNonNullElse(context.getProperty(AppliancePaths.DATA), "data"), "log").toString();
        }
        this.file = Path.of(dir, "cairn.log");
    }

    @RequiredRole(value = Role.ADMIN, readOnly = true)
    @Descriptor("show the appliance log and follow it until Ctrl-C")
    public void tail(
            @Descriptor("lines to show first, 0 to 10000") @Parameter(names = { "-n", "--lines" }, absentValue = "20") int lines,
            @Descriptor("print the lines and stop instead of following") @Parameter(names = "--no-follow", presentValue = "true", absentValue = "false") boolean noFollow)
            throws IOException {
        if (lines < 0 || lines > 10_000) {
            throw new InvalidInputException("lines", "must be between 0 and 10000, was " + lines);
        }
        if (!Files.isRegularFile(file)) {
            throw new NotFoundException("log file", file.toString());
        }
        PrintStream out = System.out;
        long position;
        Object key;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            long end = raf.length();
            long start = startOfLastLines(raf, end, lines);
            copy(raf, start, end, out);
            position = end;
            key = fileKey();
        }
        if (noFollow) {
            return;
        }
        try {
            while (!Thread.currentThread().isInterrupted()) {
                Object now = fileKey();
                long size = Files.size(file);
                if (!Objects.equals(now, key) || size < position) {
                    // rolled or truncated: the new file is read from its start
                    key = now;
                    position = 0;
                }
                if (size > position) {
                    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
                        copy(raf, position, size, out);
                    }
                    position = size;
                }
                Thread.sleep(POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            // Ctrl-C: the normal way out
        } catch (java.nio.file.NoSuchFileException e) {
            // the file is between a roll and its successor; the user restarts the tail
        }
    }

    private Object fileKey() throws IOException {
        return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
    }

    /** Walks back from the end in blocks until {@code lines} line breaks precede the end. */
    private static long startOfLastLines(RandomAccessFile raf, long end, int lines) throws IOException {
        if (lines == 0) {
            return end;
        }
        long pos = end;
        int seen = 0;
        byte[] block = new byte[8192];
        // a final newline ends the last line rather than starting an empty one
        long limit = end;
        if (end > 0) {
            raf.seek(end - 1);
            if (raf.read() == '\n') {
                limit = end - 1;
            }
        }
        pos = limit;
        while (pos > 0) {
            int n = (int) Math.min(block.length, pos);
            raf.seek(pos - n);
            raf.readFully(block, 0, n);
            for (int i = n - 1; i >= 0; i--) {
                if (block[i] == '\n' && ++seen == lines) {
                    return pos - n + i + 1;
                }
            }
            pos -= n;
        }
        return 0;
    }

    private static void copy(RandomAccessFile raf, long from, long to, PrintStream out) throws IOException {
        raf.seek(from);
        byte[] buffer = new byte[8192];
        long left = to - from;
        while (left > 0) {
            int n = raf.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                break;
            }
            out.write(buffer, 0, n);
            left -= n;
        }
        out.flush();
    }
}
