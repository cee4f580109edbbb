package cairn.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import sun.misc.Signal;

/**
 * {@code bin/cairn}: runs one appliance in the foreground.
 *
 * <p>Exit codes: 0 after a clean stop, 1 when the appliance stopped itself on a fatal
 * error, 2 for a usage error, 3 when a port or the data directory is taken.
 */
public final class Main {

    static final int EXIT_FATAL = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_UNAVAILABLE = 3;

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(List.of(args), System.getenv(), System.out, System.err));
    }

    static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
        if (args.isEmpty() || args.get(0).equals("help") || args.get(0).equals("--help")) {
            out.print(usage());
            return args.isEmpty() ? EXIT_USAGE : 0;
        }
        String command = args.get(0);
        try {
            Options options = Options.parse(args.subList(1, args.size()), env);
            return switch (command) {
            case "run" -> runAppliance(options, out, err);
            case "upgrade" -> stageImage(options, out);
            case "version" -> {
                out.println(Image.at(home()).version());
                yield 0;
            }
            default -> throw new Options.UsageException("unknown command '" + command + "'");
            };
        } catch (Options.UsageException e) {
            err.println("cairn: " + e.getMessage());
            err.println("Run 'cairn help' for usage.");
            return EXIT_USAGE;
        } catch (UnavailableException e) {
            err.println("cairn: " + e.getMessage());
            return EXIT_UNAVAILABLE;
        }
    }

    static String usage() {
        return """
                Usage: cairn COMMAND [OPTIONS]

                Commands:
                  run        run the appliance in the foreground until SIGINT or SIGTERM
                  upgrade IMAGE.tar.gz
                             stage a new appliance image in the inactive slot under
                             --data; the next 'run' boots it on trial and goes back to
                             the previous image if it is not healthy in time
                  version    print the firmware version of this image
                  help       show this text

                Options (each has an environment variable; a flag wins):
                  --data DIR          all state (CAIRN_DATA, default ./data)
                  --http-port PORT    web UI, REST API and /health (CAIRN_HTTP_PORT, default 8443)
                  --ssh-port PORT     SSH console (CAIRN_SSH_PORT, default 8101)
                  --nbd-port PORT     NBD block service (CAIRN_NBD_PORT, default 10809)
                  --peer-port PORT    appliance-to-appliance links (CAIRN_PEER_PORT, default 7400)
                  --bind ADDRESS      address of every listener (CAIRN_BIND, default 0.0.0.0);
                                      HTTPS unless ADDRESS is a loopback address
                  --nbd-tls on|off    NBD over TLS with client certificates (CAIRN_NBD_TLS, default on);
                                      off is a plaintext lab mode, loopback --bind only
                """;
    }

    static Path home() {
        String home = System.getProperty("cairn.home");
        if (home == null) {
            throw new Options.UsageException("cairn.home is not set; start the appliance with bin/cairn");
        }
        return Path.of(home).toAbsolutePath().normalize();
    }

    /** Seconds a new image has to become healthy on its trial boot (system property). */
    static final String IMAGE_HEALTH_TIMEOUT = "cairn.image.healthTimeoutSeconds";

    private static int stageImage(Options options, PrintStream out) {
        if (options.rest.size() != 1) {
            throw new Options.UsageException("upgrade needs exactly one IMAGE.tar.gz, got " + options.rest);
        }
        Path archive = Path.of(options.rest.get(0)).toAbsolutePath().normalize();
        DataDirectory data = DataDirectory.prepare(options.data);
        ImageSlots slots = ImageSlots.of(data);
        String slot = slots.stage(archive);
        Image staged = Image.at(slots.imageDir(slot));
        out.println("cairn: staged image " + staged.version() + " (" + staged.role() + ") from " + archive
                + " in slot " + slot + "; the next start boots it on trial (" + slots.describe() + ")");
        return 0;
    }

    private static int runAppliance(Options options, PrintStream out, PrintStream err) {
        long startedAt = System.currentTimeMillis();
        Image installed = Image.at(home());
        DataDirectory data = DataDirectory.prepare(options.data);
        try (FileLock lock = lockDataDirectory(data)) {
            checkPorts(options);
            ImageSlots slots = ImageSlots.of(data);
            ImageSlots.Boot boot = slots.chooseBoot(installed);
            Image image = boot.image();
            if (boot.note() != null) {
                out.println("cairn: " + boot.note());
            }
            out.println("cairn: booting image " + image.version() + " from slot " + boot.slot());
            data.seedConfiguration(image.etc());
            Map<String, String> props = new HashMap<>(image.frameworkProperties());
            props.putAll(FrameworkSettings.forAppliance(options, image, data, boot.slot()));
            System.setProperty("cairn.startedAt", Long.toString(startedAt));
            System.setProperty("logback.configurationFile", data.logbackConfig(image.etc()).toString());
            System.setProperty("cairn.log.dir", data.log().toString());
            if (System.getProperty("java.util.logging.config.file") == null) {
                System.setProperty("java.util.logging.config.file", image.etc().resolve("logging.properties").toString());
                java.util.logging.LogManager.getLogManager().readConfiguration();
            }
            System.setProperty("derby.stream.error.file", data.log().resolve("derby.log").toString());
            Appliance appliance = new Appliance(props, image, data);
            // SIGTERM and SIGINT stop the framework cleanly and the process exits 0; the hook
            // covers every other way the JVM may go down.
            Runtime.getRuntime().addShutdownHook(new Thread(appliance::stop, "cairn-shutdown"));
            for (String signal : new String[] { "TERM", "INT" }) {
                Signal.handle(new Signal(signal), s -> new Thread(appliance::stop, "cairn-stop-" + signal).start());
            }
            appliance.start();
            if (boot.trial()) {
                watchTrial(appliance, slots, boot, out);
            }
            appliance.awaitStop();
            String fatal = System.getProperty(FATAL_REASON);
            if (fatal != null) {
                err.println("cairn: stopped: " + fatal);
                return EXIT_FATAL;
            }
            return 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Commits the trial slot once the appliance reports ready, or marks it bad and stops
     * the appliance when it does not within the timeout, so the next start boots the
     * previous slot.
     */
    private static void watchTrial(Appliance appliance, ImageSlots slots, ImageSlots.Boot boot, PrintStream out) {
        long timeout = Long.getLong(IMAGE_HEALTH_TIMEOUT, 300);
        Thread t = new Thread(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
            while (appliance.running() && System.nanoTime() < deadline) {
                if (appliance.ready()) {
                    slots.commit(boot.slot());
                    out.println("cairn: image " + boot.image().version() + " in slot " + boot.slot()
                            + " is healthy; it is the active image now");
                    return;
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (!appliance.running()) {
                // stopped during the trial: the next start treats the unfinished trial as failed
                return;
            }
            String reason = "image " + boot.image().version() + " in slot " + boot.slot() + " was not healthy within "
                    + timeout + " s; the next start boots slot " + slots.active() + " again";
            slots.markBad(boot.slot(), reason);
            System.setProperty(FATAL_REASON, reason);
            appliance.stop();
        }, "cairn-image-trial");
        t.setDaemon(true);
        t.start();
    }

    static final String FATAL_REASON = "cairn.fatal.reason";

    private static FileLock lockDataDirectory(DataDirectory data) throws IOException {
        FileChannel channel = FileChannel.open(data.root().resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        try {
            FileLock lock = channel.tryLock();
            if (lock != null) {
                return lock;
            }
        } catch (OverlappingFileLockException e) {
            // held by this process: treated as taken
        }
        channel.close();
        throw new UnavailableException("data directory " + data.root() + " is in use by another appliance");
    }

    /** Fails before anything starts, so a taken port gives one clear line and no half-started appliance. */
    static void checkPorts(Options o) {
        String[][] ports = { { "HTTP", "--http-port" }, { "SSH", "--ssh-port" }, { "NBD", "--nbd-port" },
                { "peer", "--peer-port" } };
        int[] values = { o.httpPort, o.sshPort, o.nbdPort, o.peerPort };
        for (int i = 0; i < values.length; i++) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(o.bindAddress, values[i]));
            } catch (BindException e) {
                throw new UnavailableException("cannot bind the " + ports[i][0] + " port " + o.bind + ":" + values[i]
                        + " (" + ports[i][1] + "): " + e.getMessage());
            } catch (IOException e) {
                throw new UnavailableException("cannot bind the " + ports[i][0] + " port " + o.bind + ":" + values[i]
                        + ": " + e.getMessage());
            }
        }
    }

    static Properties load(Path file) {
        Properties p = new Properties();
        if (Files.isRegularFile(file)) {
            try (InputStream in = Files.newInputStream(file)) {
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return p;
    }

    static final class UnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnavailableException(String message) {
            super(message);
        }
    }

}
