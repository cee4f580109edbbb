package cairn.itests.browser;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import cairn.itests.support.ApplianceProcess;

/**
 * The volumes page in headless Chromium against the real appliance: create, resize, attach
 * with the connection details a real qemu-img then uses, the live I/O chart seeing that
 * client's writes, detach and delete.
 */
public class VolumesUiTest {

    @ClassRule
    public static RunningAppliance appliance = new RunningAppliance();

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private ApplianceProcess app;
    private String adminPassword;
    private WebDriver browser;
    private WebDriverWait wait;

    @Rule
    public BrowserSession ui = new BrowserSession(Duration.ofSeconds(30));

    @Before
    public void browser() {
        app = appliance.app();
        adminPassword = appliance.adminPassword();
        browser = ui.browser();
        wait = ui.await();
    }

    @Test
    public void anAdminCreatesResizesAttachesWatchesIoAndDeletesAVolume() throws Exception {
        ui.logIn(app.httpUrl(), "admin", adminPassword);
        ui.go("volumes");

        ui.fill("create-volume-name", "web1");
        ui.fill("create-volume-size", "5000");
        ui.submit("create-volume");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("create-volume-size-error"), "4096"));
        ui.fill("create-volume-size", "16M");
        ui.submit("create-volume");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("volume-detail-name"), "web1"));
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("volumes-table"), "web1"));
        assertEquals("available", ui.textOf("volume-detail-state"));

        ui.fill("resize-volume-size", "32M");
        ui.submit("resize-volume");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("volume-detail-size"), "33554432 bytes"));

        ui.fill("attach-volume-instanceId", "vm-web");
        ui.submit("attach-volume");
        URI uri = URI.create(ui.visible(By.id("volume-uri")).getText().strip());
        assertEquals("nbds", uri.getScheme());
        assertEquals("in-use", ui.textOf("volume-detail-state"));
        Path dir = tmp.newFolder("tls").toPath();
        Files.writeString(dir.resolve("ca-cert.pem"), ui.textOf("volume-ca-cert"));
        Files.writeString(dir.resolve("client-cert.pem"), ui.textOf("volume-client-cert"));
        Files.writeString(dir.resolve("client-key.pem"), ui.textOf("volume-client-key"));

        // A real client writes through the details the page showed; the chart sees its writes.
        Path image = dir.resolve("image.raw");
        byte[] bytes = new byte[8 << 20];
        new Random(7).nextBytes(bytes);
        Files.write(image, bytes);
        String target = "driver=nbd,server.type=inet,server.host=" + uri.getHost() + ",server.port=" + uri.getPort()
                + ",export=" + uri.getPath().substring(1) + ",tls-creds=tls0";
        Process convert = new ProcessBuilder("qemu-img", "convert", "-n", "--object",
                "tls-creds-x509,id=tls0,dir=" + dir + ",endpoint=client", "-f", "raw", image.toString(),
                "--target-image-opts", target).redirectErrorStream(true).start();
        String out = new String(convert.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(convert.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, convert.exitValue());
        wait.until(d -> {
            Object writes = ui.js("return document.getElementById('volume-rates').dataset.writeOps");
            return writes != null && Long.parseLong((String) writes) > 0;
        });
        assertThat(ui.textOf("volume-rates"), containsString("write"));
        ui.visible(By.id("volume-iops-chart"));

        // Detach once the engine has seen the client's connection close, then delete.
        ui.js("window.confirm = () => true;");
        wait.until(d -> {
            if ("available".equals(ui.textOf("volume-detail-state"))) {
                return true;
            }
            List<WebElement> detach = browser.findElements(By.id("detach-volume"));
            if (!detach.isEmpty()) {
                detach.get(0).click();
            }
            return false;
        });
        ui.visible(By.id("attach-volume"));
        ui.js("window.confirm = () => true;");
        ui.visible(By.id("delete-volume")).click();
        wait.until(d -> ui.textOf("volumes-table") != null && !ui.textOf("volumes-table").contains("web1"));
    }
}
