package cairn.launcher;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.Test;

public class OptionsTest {

    @Test
    public void defaultsApplyWithoutFlagsOrEnvironment() {
        Options o = Options.parse(List.of(), Map.of());
        assertEquals(8443, o.httpPort);
        assertEquals(8101, o.sshPort);
        assertEquals(10809, o.nbdPort);
        assertEquals(7400, o.peerPort);
        assertEquals(Path.of("./data").toAbsolutePath().normalize(), o.data);
        assertFalse("0.0.0.0 serves HTTPS", o.loopback());
    }

    @Test
    public void flagsWinOverEnvironment() {
        Options o = Options.parse(List.of("--http-port", "9000", "--bind=127.0.0.1"),
                Map.of("CAIRN_HTTP_PORT", "9100", "CAIRN_SSH_PORT", "9101", "CAIRN_BIND", "0.0.0.0"));
        assertEquals(9000, o.httpPort);
        assertEquals("environment applies where no flag is given", 9101, o.sshPort);
        assertTrue(o.loopback());
    }

    @Test
    public void badValuesAreRejectedWithTheFlagNamed() {
        Options.UsageException e = assertThrows(Options.UsageException.class,
                () -> Options.parse(List.of("--nbd-port", "70000"), Map.of()));
        assertEquals("--nbd-port: '70000' is not a port number (1-65535)", e.getMessage());
        e = assertThrows(Options.UsageException.class,
                () -> Options.parse(List.of(), Map.of("CAIRN_SSH_PORT", "ssh")));
        assertEquals("--ssh-port: 'ssh' is not a port number (1-65535)", e.getMessage());
        e = assertThrows(Options.UsageException.class, () -> Options.parse(List.of("--colour"), Map.of()));
        assertEquals("unknown option --colour", e.getMessage());
        e = assertThrows(Options.UsageException.class, () -> Options.parse(List.of("--data"), Map.of()));
        assertEquals("--data needs a value", e.getMessage());
    }

    @Test
    public void nbdLabModeIsForLoopbackOnly() {
        assertTrue(Options.parse(List.of(), Map.of()).nbdTls);
        assertFalse(Options.parse(List.of("--bind", "127.0.0.1", "--nbd-tls", "off"), Map.of()).nbdTls);
        Options.UsageException e = assertThrows(Options.UsageException.class,
                () -> Options.parse(List.of("--nbd-tls", "off"), Map.of()));
        assertEquals("--nbd-tls off (plaintext lab mode) is accepted only with a loopback --bind, not 0.0.0.0",
                e.getMessage());
        assertThrows(Options.UsageException.class, () -> Options.parse(List.of("--nbd-tls", "maybe"), Map.of()));
    }

    @Test
    public void portsMustDiffer() {
        assertThrows(Options.UsageException.class,
                () -> Options.parse(List.of("--http-port", "9000", "--ssh-port", "9000"), Map.of()));
    }

    @Test
    public void mainReportsUsageErrorsWithExitCode2() {
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code = Main.run(List.of("run", "--http-port", "x"), Map.of(), System.out, new java.io.PrintStream(err));
        assertEquals(Main.EXIT_USAGE, code);
        assertTrue(err.toString().startsWith("cairn: --http-port: 'x' is not a port number"));
    }
}
