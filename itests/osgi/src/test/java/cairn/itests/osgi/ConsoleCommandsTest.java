package cairn.itests.osgi;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.Hashtable;
import java.util.List;

import javax.inject.Inject;

import org.apache.felix.service.command.Descriptor;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;

import cairn.console.api.RequiredRole;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.health.ReadinessService;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;
import cairn.platform.api.security.UserService;

/**
 * A bundle contributes console commands by registering a plain service; the console
 * picks it up at once, enforces the declared roles, passes the caller, audits the
 * mutating function, and drops the commands when the service goes.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ConsoleCommandsTest {

    private static final Path DATA = RoleBundles.newDataDirectory();

    @Inject
    private BundleContext context;
    @Inject
    private UserService users;
    @Inject
    private AuditLog audit;
    @Inject
    private ReadinessService readiness;

    @Configuration
    public Option[] config() {
        return RoleBundles.allInOne(DATA);
    }

    /** What a later area (volume:*, snapshot:*) writes: methods, descriptions, roles. */
    public static class Garden {
        final List<String> planted = new ArrayList<>();

        @RequiredRole(Role.VIEWER)
        @Descriptor("say hello")
        public String greet(Caller caller, @Descriptor("whom") String whom) {
            return "hello " + whom + " from " + caller.user();
        }

        @RequiredRole(Role.OPERATOR)
        @Descriptor("plant something")
        public String plant(Caller caller, @Descriptor("what") String what) {
            planted.add(what);
            return "planted " + what;
        }
    }

    private record Exec(int status, String out, String err) {
    }

    private Exec exec(String user, String password, String command) throws Exception {
        int port = Integer.parseInt(context.getProperty("cairn.ssh.port"));
        SshClient client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.start();
        try (ClientSession session = client.connect(user, "127.0.0.1", port).verify(Duration.ofSeconds(30))
                .getSession()) {
            session.addPasswordIdentity(password);
            session.auth().verify(Duration.ofSeconds(30));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            try (ChannelExec channel = session.createExecChannel(command)) {
                channel.setOut(out);
                channel.setErr(err);
                channel.open().verify(Duration.ofSeconds(30));
                channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(60));
                Integer status = channel.getExitStatus();
                return new Exec(status == null ? -1 : status, out.toString(StandardCharsets.UTF_8),
                        err.toString(StandardCharsets.UTF_8));
            }
        } finally {
            client.stop();
        }
    }

    @Test
    public void aContributedCommandIsRoleCheckedAuditedAndLeavesWithItsService() throws Exception {
        Eventually.await("appliance ready", Duration.ofSeconds(60), () -> readiness.report().ready());
        Caller system = Caller.system("test");
        users.create(system, "pia", "pia-password-1234", Role.VIEWER, "default");
        users.create(system, "ole", "ole-password-1234", Role.OPERATOR, "default");

        Garden garden = new Garden();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "garden");
        props.put("osgi.command.function", new String[] { "greet", "plant" });
        ServiceRegistration<Garden> reg = context.registerService(Garden.class, garden, props);
        try {
            Eventually.await("garden:greet available", Duration.ofSeconds(30),
                    () -> exec("pia", "pia-password-1234", "garden:greet bee").status() == 0);
            Exec greet = exec("pia", "pia-password-1234", "garden:greet bee");
            assertEquals("hello bee from pia\n", greet.out());

            Exec refused = exec("pia", "pia-password-1234", "garden:plant rose");
            assertEquals(3, refused.status());
            assertEquals("error: garden:plant needs the operator role; pia is viewer\n", refused.err());
            assertTrue(garden.planted.isEmpty());

            Exec planted = exec("ole", "ole-password-1234", "garden:plant tulip");
            assertEquals(planted.err(), 0, planted.status());
            assertEquals(List.of("tulip"), garden.planted);
            AuditEntry entry = audit.query(new AuditQuery(null, null, "ole", "console.garden.plant", 0, 10))
                    .entries().get(0);
            assertEquals("tulip", entry.target());
            assertEquals("ok", entry.result());

            Exec help = exec("pia", "pia-password-1234", "help");
            assertThat(help.out(), containsString("garden:greet"));
        } finally {
            reg.unregister();
        }
        Exec gone = exec("pia", "pia-password-1234", "garden:greet bee");
        assertEquals(127, gone.status());
    }
}
