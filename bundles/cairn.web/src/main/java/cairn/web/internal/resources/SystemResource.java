package cairn.web.internal.resources;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import cairn.platform.api.AppliancePaths;
import cairn.platform.api.security.Role;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Routes;

/**
 * {@code /system/metrics}: CPU, memory and disk for the overview's live chart. Read from
 * /proc (the appliance runs on Linux) so nothing outside the exported JDK API is needed;
 * CPU is the busy share of all cores since the previous request.
 */
@Component(service = ApiResource.class)
public class SystemResource implements ApiResource {

    /** One sample; a value the machine does not offer is null. */
    public record Metrics(Instant at, Double cpuPercent, Double loadAverage, int cpus, Long memoryTotalBytes,
            Long memoryAvailableBytes, long heapUsedBytes, long heapMaxBytes, long diskTotalBytes,
            long diskUsableBytes) {
    }

    private final Path data;
    private long[] lastCpu;

    @Activate
    public SystemResource(BundleContext context) {
        String d = context.getProperty(AppliancePaths.DATA);
        this.data = Path.of(d == null ? "." : d);
    }

    @Override
    public void routes(Routes r) {
        r.get("/system/metrics", Role.VIEWER, "CPU, memory and disk usage now").returns(Metrics.class)
                .handle(call -> sample());
    }

    private Metrics sample() throws IOException {
        Double cpu = cpuPercent();
        Long total = null;
        Long available = null;
        Path meminfo = Path.of("/proc/meminfo");
        if (Files.isReadable(meminfo)) {
            for (String line : Files.readAllLines(meminfo, StandardCharsets.US_ASCII)) {
                if (line.startsWith("MemTotal:")) {
                    total = kib(line);
                } else if (line.startsWith("MemAvailable:")) {
                    available = kib(line);
                }
            }
        }
        MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        var store = Files.getFileStore(Files.isDirectory(data) ? data : Path.of("/"));
        return new Metrics(Instant.now(), cpu, load < 0 ? null : load, Runtime.getRuntime().availableProcessors(),
                total, available, heap.getUsed(), heap.getMax(), store.getTotalSpace(), store.getUsableSpace());
    }

    /** From the first line of /proc/stat: busy and total jiffies since the last sample. */
    private synchronized Double cpuPercent() throws IOException {
        Path stat = Path.of("/proc/stat");
        if (!Files.isReadable(stat)) {
            return null;
        }
        List<String> lines = Files.readAllLines(stat, StandardCharsets.US_ASCII);
        String[] f = lines.get(0).trim().split("\\s+");
        long totalJiffies = 0;
        for (int i = 1; i < f.length; i++) {
            totalJiffies += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
        long[] now = { totalJiffies, idle };
        long[] before = lastCpu;
        lastCpu = now;
        if (before == null || now[0] <= before[0]) {
            return totalJiffies == 0 ? null : 100.0 * (totalJiffies - idle) / totalJiffies;
        }
        return 100.0 * ((now[0] - before[0]) - (now[1] - before[1])) / (now[0] - before[0]);
    }

    private static long kib(String line) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
}
