package cairn.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.MalformedURLException;
import java.net.ServerSocket;
import java.net.URL;
import java.net.URLClassLoader;
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

import cairn.image.Image;
import cairn.image.ImageArchive;
import cairn.image.ImageException;
import cairn.image.ImageSlots;
import cairn.image.StagedImage;
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
            case "run" -> runAppliance(options, args, out, err);
            case "upgrade" -> stageImage(options, out);
            case "version" -> {
                out.println(Image.at(home()).version() + " (launcher " + launcherVersion() + ")");
                yield 0;
            }
            default -> throw new Options.UsageException("unknown command '" + command + "'");
            };
        } catch (Options.UsageException e) {
            err.println("cairn: " + e.getMessage());
            err.println("Run 'cairn help' for usage.");
            return EXIT_USAGE;
        } catch (ImageException e) {
            err.println("cairn: " + e.getMessage());
            return e.kind() == ImageException.Kind.CONFLICT ? EXIT_UNAVAILABLE : EXIT_USAGE;
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
        if (!Files.isRegularFile(archive)) {
            throw new Options.UsageException(archive + " is not a file");
        }
        DataDirectory data = DataDirectory.prepare(options.data);
        ImageSlots slots = ImageSlots.of(data.root());
        try (InputStream in = Files.newInputStream(archive)) {
            StagedImage staged = slots.stage(in, ImageArchive.Limits.DEFAULT, null, Image.at(home()));
            out.println("cairn: staged image " + staged.version() + " (" + staged.role() + ") from " + archive
                    + " in slot " + staged.slot() + "; the next start boots it on trial (" + slots.describe() + ")");
            return 0;
        } catch (ImageException e) {
            throw new ImageException(e.kind(), archive + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Decides the slot under the data directory lock and boots it. A slot that holds a
     * staged image is started by that image's own launcher and framework ({@code lib/}),
     * loaded in a class loader of their own, so an image upgrade replaces the launcher as
     * well; this launcher keeps the lock and returns the inner one's exit code.
     */
    private static int runAppliance(Options options, List<String> args, PrintStream out, PrintStream err) {
        long startedAt = System.currentTimeMillis();
        Image installed = Image.at(home());
        DataDirectory data = DataDirectory.prepare(options.data);
        try (FileLock lock = lockDataDirectory(data)) {
            checkPorts(options);
            ImageSlots slots = ImageSlots.of(data.root());
            ImageSlots.Boot boot = slots.chooseBoot(installed);
            if (boot.note() != null) {
                out.println("cairn: " + boot.note());
            }
            if (!boot.image().home().equals(installed.home())) {
                Integer exit = bootSlotLauncher(args, boot, slots, startedAt, out, err);
                if (exit != null) {
                    return exit;
                }
            }
            return runBooted(options, boot.image(), data, boot.slot(), boot.trial(), startedAt, out, err);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Entry point of a slot's launcher, called by the launcher that decided the slot (and
     * holds the data directory lock for the life of the process) through a class loader
     * over the slot image's {@code lib/}. Its signature has JDK types only: launchers of
     * different images call each other through it, so it stays as it is.
     *
     * @param args      the command line, {@code run} and the options
     * @param imageHome the image this launcher belongs to
     * @param slot      the slot being booted
     * @param trial     whether this boot is the slot's trial
     * @return the exit code of the appliance run
     */
    public static int boot(String[] args, String imageHome, String slot, boolean trial) {
        long startedAt = Long.getLong("cairn.startedAt", System.currentTimeMillis());
        List<String> all = List.of(args);
        Options options = Options.parse(all.subList(1, all.size()), System.getenv());
        Image image = Image.at(Path.of(imageHome));
        DataDirectory data = DataDirectory.prepare(options.data);
        return runBooted(options, image, data, slot, trial, startedAt, System.out, System.err);
    }

    /**
     * Runs the launcher of the boot slot's image; null when that image's {@code lib/} has
     * no launcher with the {@link #boot} entry point (an image older than it), in which
     * case this launcher boots the image itself.
     */
    private static Integer bootSlotLauncher(List<String> args, ImageSlots.Boot boot, ImageSlots slots, long startedAt,
            PrintStream out, PrintStream err) {
        List<Path> jars = boot.image().libraries();
        URL[] urls = new URL[jars.size()];
        for (int i = 0; i < urls.length; i++) {
            try {
                urls[i] = jars.get(i).toUri().toURL();
            } catch (MalformedURLException e) {
                throw new IllegalStateException(e);
            }
        }
        System.setProperty("cairn.startedAt", Long.toString(startedAt));
        // the platform loader as parent: nothing of this launcher or its framework leaks in
        URLClassLoader loader = new URLClassLoader("cairn-slot-" + boot.slot(), urls,
                ClassLoader.getPlatformClassLoader());
        Method entry;
        try {
            entry = loader.loadClass(Main.class.getName()).getMethod("boot", String[].class, String.class,
                    String.class, boolean.class);
        } catch (ClassNotFoundException | NoSuchMethodException | LinkageError e) {
            out.println("cairn: the image in slot " + boot.slot() + " has no launcher entry point (" + e
                    + "); launcher " + launcherVersion() + " boots it");
            return null;
        }
        Thread.currentThread().setContextClassLoader(loader);
        try {
            return (Integer) entry.invoke(null, args.toArray(String[]::new), boot.image().home().toString(),
                    boot.slot(), boot.trial());
        } catch (InvocationTargetException | IllegalAccessException e) {
            Throwable cause = e instanceof InvocationTargetException ite ? ite.getCause() : e;
            String reason = "the launcher of image " + boot.image().version() + " in slot " + boot.slot()
                    + " failed: " + cause;
            if (boot.trial()) {
                slots.markBad(boot.slot(), reason);
                reason += "; the next start boots slot " + slots.active() + " again";
            }
            err.println("cairn: stopped: " + reason);
            return EXIT_FATAL;
        }
    }

    private static int runBooted(Options options, Image image, DataDirectory data, String slot, boolean trial,
            long startedAt, PrintStream out, PrintStream err) {
        try {
            out.println("cairn: launcher " + launcherVersion() + " booting image " + image.version() + " from slot "
                    + slot);
            data.seedConfiguration(image.etc());
            Map<String, String> props = new HashMap<>(image.frameworkProperties());
            props.putAll(FrameworkSettings.forAppliance(options, image, data, slot));
            props.put("cairn.launcher.version", launcherVersion());
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
            if (trial) {
                watchTrial(appliance, ImageSlots.of(data.root()), slot, image, out);
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

    /** This launcher's own version, from its jar (not from the image it boots). */
    static String launcherVersion() {
        try (InputStream in = Main.class.getResourceAsStream("launcher.properties")) {
            Properties p = new Properties();
            if (in != null) {
                p.load(in);
            }
            return p.getProperty("version", "unknown");
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * Commits the trial slot once the appliance reports ready, or marks it bad and stops
     * the appliance when it does not within the timeout, so the next start boots the
     * previous slot.
     */
    private static void watchTrial(Appliance appliance, ImageSlots slots, String slot, Image image, PrintStream out) {
        long timeout = Long.getLong(IMAGE_HEALTH_TIMEOUT, 300);
        Thread t = new Thread(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
            while (appliance.running() && System.nanoTime() < deadline) {
                if (appliance.ready()) {
                    slots.commit(slot);
                    out.println("cairn: image " + image.version() + " in slot " + slot
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
            String reason = "image " + image.version() + " in slot " + slot + " was not healthy within "
                    + timeout + " s; the next start boots slot " + slots.active() + " again";
            slots.markBad(slot, reason);
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

    static final class UnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnavailableException(String message) {
            super(message);
        }
    }

}
