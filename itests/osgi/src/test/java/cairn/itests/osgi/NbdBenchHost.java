package cairn.itests.osgi;

import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import javax.inject.Inject;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;

import cairn.blockstore.api.Attachment;
import cairn.blockstore.api.Volume;
import cairn.blockstore.api.VolumeService;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/**
 * Not a test: the host bench/nbd runs (only with -Dtest=NbdBenchHost). Boots the
 * all-in-one role's real bundles, creates and attaches one volume, writes where to reach
 * it into {@code cairn.bench.dir}, and serves until the script creates {@code stop} there.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class NbdBenchHost {

    @Inject
    private BundleContext context;
    @Inject
    private VolumeService volumes;
    @Inject
    private ReadinessService readiness;

    @Configuration
    public Option[] config() {
        return OptionUtils.combine(RoleBundles.allInOne(RoleBundles.newDataDirectory()),
                frameworkProperty("cairn.nbd.tls").value(System.getProperty("cairn.bench.tls", "off")));
    }

    @Test
    public void serve() throws Exception {
        Path dir = Path.of(System.getProperty("cairn.bench.dir"));
        long size = Long.getLong("cairn.bench.sizeBytes", 1L << 30);
        Eventually.await("ready", Duration.ofSeconds(60), () -> readiness.report().ready());
        Caller caller = new Caller("bench", "bench", Role.OPERATOR, "bench");
        Volume v = volumes.create(caller, "bench", size);
        Attachment a = volumes.attach(caller, v.id(), "fio").attachment();
        if (a.tls() != null) {
            Path certs = dir.resolve("cairn-certs");
            Files.createDirectories(certs);
            Files.writeString(certs.resolve("ca-cert.pem"), a.tls().caCertPem());
            Files.writeString(certs.resolve("client-cert.pem"), a.tls().clientCertPem());
            Files.writeString(certs.resolve("client-key.pem"), a.tls().clientKeyPem());
        }
        Files.writeString(dir.resolve("unix-socket"), context.getProperty("cairn.data") + "/run/nbd.sock\n");
        Files.writeString(dir.resolve("export"), a.exportName() + "\n");
        Files.writeString(dir.resolve("uri.tmp"), a.uri() + "\n");
        Files.move(dir.resolve("uri.tmp"), dir.resolve("uri"));
        Eventually.await("bench stop file", Duration.ofHours(2), () -> Files.exists(dir.resolve("stop")));
    }
}
