package cairn.launcher;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The operator contract of {@code bin/cairn run}: every flag has an environment
 * variable, flags win over the environment, the environment over the defaults.
 */
final class Options {

    static final int DEFAULT_HTTP = 8443;
    static final int DEFAULT_SSH = 8101;
    static final int DEFAULT_NBD = 10809;
    static final int DEFAULT_PEER = 7400;

    Path data;
    int httpPort;
    int sshPort;
    int nbdPort;
    int peerPort;
    String bind;
    InetAddress bindAddress;
    /** NBD over TLS with client certificates (default), or plaintext lab mode on loopback only. */
    boolean nbdTls;
    /** Any further arguments after the options (used by sub-commands such as upgrade). */
    final List<String> rest = new ArrayList<>();

    static Options parse(List<String> args, Map<String, String> env) {
        Options o = new Options();
        String data = env.getOrDefault("CAIRN_DATA", "./data");
        String http = env.getOrDefault("CAIRN_HTTP_PORT", Integer.toString(DEFAULT_HTTP));
        String ssh = env.getOrDefault("CAIRN_SSH_PORT", Integer.toString(DEFAULT_SSH));
        String nbd = env.getOrDefault("CAIRN_NBD_PORT", Integer.toString(DEFAULT_NBD));
        String peer = env.getOrDefault("CAIRN_PEER_PORT", Integer.toString(DEFAULT_PEER));
        String bind = env.getOrDefault("CAIRN_BIND", "0.0.0.0");
        String nbdTls = env.getOrDefault("CAIRN_NBD_TLS", "on");
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            switch (name) {
            case "--data", "--http-port", "--ssh-port", "--nbd-port", "--peer-port", "--bind", "--nbd-tls" -> {
                if (value == null) {
                    if (i + 1 >= args.size()) {
                        throw new UsageException(name + " needs a value");
                    }
                    value = args.get(++i);
                }
                switch (name) {
                case "--data" -> data = value;
                case "--http-port" -> http = value;
                case "--ssh-port" -> ssh = value;
                case "--nbd-port" -> nbd = value;
                case "--peer-port" -> peer = value;
                case "--nbd-tls" -> nbdTls = value;
                default -> bind = value;
                }
            }
            default -> {
                if (arg.startsWith("-")) {
                    throw new UsageException("unknown option " + arg);
                }
                o.rest.add(arg);
            }
            }
        }
        if (data.isBlank()) {
            throw new UsageException("--data must not be empty");
        }
        o.data = Path.of(data).toAbsolutePath().normalize();
        o.httpPort = port("--http-port", http);
        o.sshPort = port("--ssh-port", ssh);
        o.nbdPort = port("--nbd-port", nbd);
        o.peerPort = port("--peer-port", peer);
        List<Integer> ports = List.of(o.httpPort, o.sshPort, o.nbdPort, o.peerPort);
        if (ports.stream().distinct().count() != ports.size()) {
            throw new UsageException("the HTTP, SSH, NBD and peer ports must differ, got " + ports);
        }
        o.bind = bind;
        try {
            o.bindAddress = InetAddress.getByName(bind);
        } catch (UnknownHostException e) {
            throw new UsageException("--bind: '" + bind + "' is not an address of this machine");
        }
        switch (nbdTls.trim()) {
        case "on" -> o.nbdTls = true;
        case "off" -> o.nbdTls = false;
        default -> throw new UsageException("--nbd-tls: must be 'on' or 'off', was '" + nbdTls + "'");
        }
        if (!o.nbdTls && !o.loopback()) {
            throw new UsageException("--nbd-tls off (plaintext lab mode) is accepted only with a loopback --bind, not "
                    + bind);
        }
        return o;
    }

    private static int port(String flag, String value) {
        try {
            int p = Integer.parseInt(value.trim());
            if (p >= 1 && p <= 65535) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException(flag + ": '" + value + "' is not a port number (1-65535)");
    }

    boolean loopback() {
        return bindAddress.isLoopbackAddress();
    }

    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
