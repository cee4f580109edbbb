package cairn.console.internal;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

import cairn.console.api.RequiredRole;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.audit.AuditPage;
import cairn.platform.api.audit.AuditQuery;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;

/** The console's Gogo processor with role-checked functions, driven as a session would. */
public class ConsoleFunctionTest {

    /** A contributed command as another bundle would write it. */
    public static class Things {
        public record Thing(String name, Role role) {
        }

        final List<String> calls = new ArrayList<>();

        @RequiredRole(Role.VIEWER)
        @Descriptor("list things")
        public List<Thing> list(Caller caller) {
            return List.of(new Thing("a", caller.role()), new Thing("bb", Role.ADMIN));
        }

        @RequiredRole(Role.OPERATOR)
        @Descriptor("add a thing")
        public Thing add(CommandSession session,
                @Descriptor("role of it") @Parameter(names = { "-r", "--role" }, absentValue = "viewer") String role,
                @Descriptor("secret") @Parameter(names = "--password", absentValue = "") String password,
                Caller caller, @Descriptor("thing name") String name) {
            calls.add(caller.user() + " " + name + " " + role + " " + password);
            return new Thing(name, Role.parse(role));
        }

        public void undeclared() {
            calls.add("undeclared");
        }

        @RequiredRole(value = Role.OPERATOR, auditedByService = true)
        @Descriptor("rename a thing; the service behind it audits the change itself")
        public Thing rename(Caller caller, @Descriptor("thing name") String name) {
            calls.add(caller.user() + " rename " + name);
            return new Thing(name, Role.OPERATOR);
        }
    }

    private final List<AuditEntry> audited = new ArrayList<>();
    private final AuditLog audit = new AuditLog() {
        @Override
        public AuditEntry record(AuditEntry entry) {
            audited.add(entry);
            return entry;
        }

        @Override
        public AuditPage query(AuditQuery query) {
            return new AuditPage(audited, audited.size(), 0, query.limit());
        }
    };

    private ThreadIOImpl threadIO;
    private ConsoleProcessor processor;
    private final Things things = new Things();
    private final Output output = new Output();

    @Before
    public void setUp() {
        threadIO = new ThreadIOImpl();
        threadIO.start();
        processor = new ConsoleProcessor(threadIO);
        for (String f : List.of("list", "add", "undeclared", "rename")) {
            processor.addCommand("thing", new ConsoleFunction("thing", f, things, () -> audit, output), f);
        }
    }

    @After
    public void tearDown() {
        processor.stop();
        threadIO.stop();
    }

    private record Run(int status, String out, String err) {
    }

    private Run run(Role role, String line) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        ConsoleSession s = processor.open(new Caller("ann", "acme", role, "ssh:127.0.0.1"),
                new ByteArrayInputStream(new byte[0]), o, e);
        try {
            int status = CommandRunner.run(s, line, output, o, e);
            return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            s.close();
        }
    }

    @Test
    public void optionsPositionalArgumentsAndTheCallerReachTheMethod() {
        Run r = run(Role.OPERATOR, "thing:add box --role admin --password hunter2hunter2");
        assertEquals(r.err(), 0, r.status());
        assertEquals(List.of("ann box admin hunter2hunter2"), things.calls);
        assertTrue(r.out(), r.out().contains("name: box"));
    }

    @Test
    public void aViewerIsRefusedAMutatingFunctionWithOneLine() {
        Run r = run(Role.VIEWER, "thing:add box");
        assertEquals(3, r.status());
        assertEquals("error: thing:add needs the operator role; ann is viewer\n", r.err());
        assertTrue(things.calls.isEmpty());
    }

    @Test
    public void functionsWithoutADeclaredRoleAreAdminOnly() {
        assertEquals(3, run(Role.OPERATOR, "thing:undeclared").status());
        assertEquals(0, run(Role.ADMIN, "thing:undeclared").status());
    }

    @Test
    public void mutatingCallsAreAuditedWithSecretsMasked() {
        run(Role.OPERATOR, "thing:add box --password hunter2hunter2");
        run(Role.VIEWER, "thing:list");
        assertEquals(1, audited.size());
        AuditEntry e = audited.get(0);
        assertEquals("console.thing.add", e.action());
        assertEquals("box --password ***", e.target());
        assertEquals("ok", e.result());
        assertEquals("ssh:127.0.0.1", e.source());
    }

    @Test
    public void functionsAuditedByTheirServiceAreNotAuditedTwice() {
        Run r = run(Role.OPERATOR, "thing:rename box");
        assertEquals(r.err(), 0, r.status());
        assertEquals(List.of("ann rename box"), things.calls);
        assertTrue("the console left the record to the service: " + audited, audited.isEmpty());
        assertEquals("the role is still enforced", 3, run(Role.VIEWER, "thing:rename box").status());
    }

    @Test
    public void listsRenderAsTablesOrJson() {
        Run table = run(Role.VIEWER, "thing:list");
        assertEquals("NAME  ROLE\na     viewer\nbb    admin\n", table.out());
        Run json = run(Role.VIEWER, "thing:list --json");
        assertTrue(json.out(), json.out().contains("\"name\" : \"bb\""));
    }

    @Test
    public void methodCallsOnValuesAndRedirectionsAreRefused() {
        Run call = run(Role.ADMIN, "(thing:list) getClass");
        assertEquals(2, call.status());
        Run redirect = run(Role.ADMIN, "thing:list > /tmp/cairn-console-test-out");
        assertTrue(redirect.err(), redirect.status() != 0);
    }

    @Test
    public void patternsAreNotExpandedAgainstFiles() {
        Run r = run(Role.OPERATOR, "thing:add --password * pattern.*");
        assertEquals(r.err(), 0, r.status());
        assertEquals(List.of("ann pattern.* viewer *"), things.calls);
    }

    @Test
    public void completionCountsPositionalArgumentsPastOptions() {
        ConsoleFunction add = new ConsoleFunction("thing", "add", things, () -> audit, output);
        assertEquals(List.of("box"), ConsoleCompleter.positional(add,
                List.of("--role", "admin", "--json", "--password", "x", "box")));
    }

    @Test
    public void unknownCommandsAndBadArgumentsGiveOneLine() {
        Run unknown = run(Role.ADMIN, "nosuch");
        assertEquals(127, unknown.status());
        assertEquals(1, unknown.err().lines().count());
        Run bad = run(Role.ADMIN, "thing:add");
        assertEquals(2, bad.status());
        assertTrue(bad.err(), bad.err().startsWith("error: wrong arguments; usage: thing:add [options] THING"));
    }
}
