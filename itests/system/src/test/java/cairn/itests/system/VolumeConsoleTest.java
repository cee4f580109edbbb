package cairn.itests.system;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.CoreMatchers.not;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import cairn.itests.support.ApplianceProcess;

/** {@code volume:*} over the real OpenSSH client: tables for people, JSON for scripts, one-line errors. */
public class VolumeConsoleTest {

    @ClassRule
    public static org.junit.rules.TemporaryFolder tmp = new org.junit.rules.TemporaryFolder();

    private static ApplianceProcess app;
    private static Ssh ssh;
    private static String adminPassword;
    private final ObjectMapper json = new ObjectMapper();

    @BeforeClass
    public static void startAppliance() throws Exception {
        app = ApplianceProcess.create(tmp.newFolder("data").toPath()).startAndAwaitReady();
        ssh = new Ssh(app.port("ssh"), tmp.newFolder("ssh").toPath());
        adminPassword = app.initialAdminPassword();
        for (String[] u : new String[][] { { "olga", "operator" }, { "vic", "viewer" } }) {
            Ssh.Result r = admin("user:add --role " + u[1] + " --password " + u[0] + "-password-1234 " + u[0]);
            assertEquals(r.toString(), 0, r.status());
        }
    }

    @AfterClass
    public static void stopAppliance() {
        if (app != null) {
            app.stop();
        }
    }

    private static Ssh.Result admin(String command) {
        return ssh.password("admin", adminPassword, command);
    }

    private static Ssh.Result as(String user, String command) {
        return ssh.password(user, user + "-password-1234", command);
    }

    @Test
    public void anOperatorManagesAVolumeAndARealClientUsesTheAttachment() throws Exception {
        Ssh.Result created = as("olga", "volume:create disk1 8M");
        assertEquals(created.toString(), 0, created.status());
        assertThat(created.out(), containsString("8 MiB"));
        assertThat(created.out(), containsString("available"));

        Ssh.Result table = as("vic", "volume:list");
        assertEquals(table.toString(), 0, table.status());
        assertThat(table.out(), containsString("NAME"));
        assertThat(table.out(), containsString("disk1"));
        JsonNode list = json.readTree(as("vic", "volume:list --json").out());
        String id = null;
        for (JsonNode v : list) {
            if (v.get("name").asText().equals("disk1")) {
                id = v.get("id").asText();
            }
        }
        assertTrue(list.toString(), id != null && id.startsWith("vol-"));

        Ssh.Result grown = as("olga", "volume:resize disk1 16M");
        assertEquals(grown.toString(), 0, grown.status());
        assertThat(grown.out(), containsString("16 MiB"));

        Ssh.Result attached = as("olga", "volume:attach disk1 vm-1 --json");
        assertEquals(attached.toString(), 0, attached.status());
        JsonNode a = json.readTree(attached.out());
        assertEquals(id, a.get("volumeId").asText());
        String uri = a.get("uri").asText();
        assertTrue(uri, uri.startsWith("nbds://"));
        Path dir = tmp.newFolder("tls").toPath();
        Files.writeString(dir.resolve("ca-cert.pem"), a.get("tls").get("caCertPem").asText());
        Files.writeString(dir.resolve("client-cert.pem"), a.get("tls").get("clientCertPem").asText());
        Files.writeString(dir.resolve("client-key.pem"), a.get("tls").get("clientKeyPem").asText());
        Process nbdinfo = new ProcessBuilder("nbdinfo", uri + "?tls-certificates=" + dir).redirectErrorStream(true)
                .start();
        String info = new String(nbdinfo.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(nbdinfo.waitFor(60, TimeUnit.SECONDS));
        assertEquals(info, 0, nbdinfo.exitValue());
        assertThat(info, containsString("export-size: " + (16 << 20)));

        Ssh.Result forPeople = as("olga", "volume:attach disk1 vm-1");
        assertEquals(forPeople.toString(), 0, forPeople.status());
        assertThat(forPeople.out(), containsString(uri));
        assertThat("no key material on the terminal", forPeople.out(), not(containsString("PRIVATE KEY")));

        Ssh.Result shown = as("vic", "volume:show " + id);
        assertThat(shown.out(), containsString("in-use"));
        assertThat(shown.out(), containsString("vm-1"));

        Ssh.Result busy = as("olga", "volume:delete disk1");
        assertNotEquals(busy.toString(), 0, busy.status());
        assertEquals(1, busy.err().strip().lines().count());
        assertThat(busy.err(), containsString("attached"));

        await().atMost(Duration.ofSeconds(20)).until(() -> as("olga", "volume:detach disk1").status() == 0);
        Ssh.Result deleted = as("olga", "volume:delete disk1");
        assertEquals(deleted.toString(), 0, deleted.status());
        Ssh.Result gone = as("olga", "volume:show disk1");
        assertNotEquals(gone.toString(), 0, gone.status());
        assertThat(gone.err(), containsString("disk1"));
    }

    @Test
    public void takeoverWaitsForTheLeaseUnlessAnAdminForcesItAndFencesTheOldHolder() throws Exception {
        assertEquals(0, as("olga", "volume:create disk2 4M").status());
        JsonNode first = json.readTree(as("olga", "volume:attach disk2 vm-1 --json").out());
        Path oldTls = tmp.newFolder("old-tls").toPath();
        Files.writeString(oldTls.resolve("ca-cert.pem"), first.get("tls").get("caCertPem").asText());
        Files.writeString(oldTls.resolve("client-cert.pem"), first.get("tls").get("clientCertPem").asText());
        Files.writeString(oldTls.resolve("client-key.pem"), first.get("tls").get("clientKeyPem").asText());
        String oldUri = first.get("uri").asText() + "?tls-certificates=" + oldTls;
        assertEquals("the first holder's credentials work", 0, nbdinfo(oldUri).exitValue());

        // the lease was just renewed by attaching: a takeover on request must wait for it
        Ssh.Result early = as("olga", "volume:takeover disk2 vm-2");
        assertNotEquals(early.toString(), 0, early.status());
        assertEquals(early.err(), 1, early.err().strip().lines().count());
        assertThat(early.err(), containsString("lease"));
        Ssh.Result notAdmin = as("olga", "volume:takeover --force disk2 vm-2");
        assertNotEquals(notAdmin.toString(), 0, notAdmin.status());
        assertEquals(notAdmin.err(), 1, notAdmin.err().strip().lines().count());

        Ssh.Result forced = admin("volume:takeover --force disk2 vm-2 --json");
        assertEquals(forced.toString(), 0, forced.status());
        JsonNode taken = json.readTree(forced.out());
        assertEquals("vm-2", taken.get("instanceId").asText());
        assertTrue(taken.toString(), taken.get("epoch").asLong() > first.get("epoch").asLong());
        assertTrue(taken.toString(), taken.get("created").asBoolean());
        assertNotEquals(first.get("attachmentId").asText(), taken.get("attachmentId").asText());
        assertNotEquals("the fenced holder's credentials are refused", 0, nbdinfo(oldUri).exitValue());

        // the new holder asking again gets its own attachment back
        JsonNode again = json.readTree(as("olga", "volume:takeover disk2 vm-2 --json").out());
        assertEquals(taken.get("attachmentId").asText(), again.get("attachmentId").asText());
        assertFalse(again.toString(), again.get("created").asBoolean());
        Ssh.Result shown = as("vic", "volume:show disk2");
        assertThat(shown.out(), containsString("vm-2"));

        assertEquals(0, admin("volume:detach --force disk2").status());
        assertEquals(0, as("olga", "volume:delete disk2").status());
    }

    private static Process nbdinfo(String uri) throws Exception {
        Process p = new ProcessBuilder("nbdinfo", uri).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue("nbdinfo finished", p.waitFor(60, TimeUnit.SECONDS));
        return p;
    }

    @Test
    public void badInputAndMissingRolesGetOneClearLine() {
        Ssh.Result unaligned = as("olga", "volume:create odd 5000");
        assertNotEquals(unaligned.toString(), 0, unaligned.status());
        assertEquals(1, unaligned.err().strip().lines().count());
        assertThat(unaligned.err(), containsString("4096"));
        assertThat(unaligned.err(), not(containsString("Exception")));

        Ssh.Result garbage = as("olga", "volume:create odd lots");
        assertNotEquals(garbage.toString(), 0, garbage.status());
        assertThat(garbage.err(), containsString("10G"));

        Ssh.Result viewer = as("vic", "volume:create mine 1M");
        assertNotEquals(viewer.toString(), 0, viewer.status());
        assertThat(viewer.err(), containsString("operator"));
        assertThat("nothing was created", as("vic", "volume:list").out(), not(containsString("odd")));
        assertThat(as("vic", "volume:list").out(), not(containsString("mine")));
    }
}
