package cairn.itests.browser;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.junit.AfterClass;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.junit.rules.TestWatcher;
import org.junit.runner.Description;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
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
    public static TemporaryFolder tmp = new TemporaryFolder();

    private static ApplianceProcess app;
    private static String adminPassword;
    private WebDriver browser;
    private WebDriverWait wait;

    @Rule
    public TestWatcher screenshots = new TestWatcher() {
        @Override
        protected void failed(Throwable e, Description d) {
            try {
                Path dir = Path.of(System.getProperty("cairn.screenshots", "target/screenshots"));
                Files.createDirectories(dir);
                File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
                Files.copy(shot.toPath(), dir.resolve(d.getMethodName() + ".png"), StandardCopyOption.REPLACE_EXISTING);
                Files.writeString(dir.resolve(d.getMethodName() + ".html"), browser.getPageSource());
            } catch (Exception ignored) {
                // the screenshot is a help, not the test
            }
        }

        /** After failed(): the browser must still be open for the screenshot. */
        @Override
        protected void finished(Description d) {
            if (browser != null) {
                browser.quit();
                browser = null;
            }
        }
    };

    @BeforeClass
    public static void startAppliance() {
        app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"), List.of(), java.util.Map.of())
                .startAndAwaitReady();
        adminPassword = app.initialAdminPassword();
    }

    @AfterClass
    public static void stopAppliance() {
        if (app != null) {
            app.stop();
        }
    }

    @Before
    public void startBrowser() {
        browser = Chromium.headless();
        wait = new WebDriverWait(browser, Duration.ofSeconds(30));
    }

    private WebElement visible(By by) {
        return wait.until(ExpectedConditions.visibilityOfElementLocated(by));
    }

    private void fill(String id, String value) {
        WebElement input = visible(By.id(id));
        input.clear();
        input.sendKeys(value);
    }

    private void submit(String formId) {
        browser.findElement(By.cssSelector("#" + formId + " button[type=submit]")).click();
    }

    private Object js(String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    private String textOf(String id) {
        return (String) js("const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", id);
    }

    @Test
    public void anAdminCreatesResizesAttachesWatchesIoAndDeletesAVolume() throws Exception {
        browser.get(app.httpUrl() + "/");
        visible(By.id("login-user")).sendKeys("admin");
        browser.findElement(By.id("login-password")).sendKeys(adminPassword);
        browser.findElement(By.cssSelector("#login button[type=submit]")).click();
        visible(By.id("nav-volumes")).click();
        wait.until(ExpectedConditions.urlContains("#/volumes"));

        fill("create-volume-name", "web1");
        fill("create-volume-size", "5000");
        submit("create-volume");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("create-volume-size-error"), "4096"));
        fill("create-volume-size", "16M");
        submit("create-volume");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("volume-detail-name"), "web1"));
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("volumes-table"), "web1"));
        assertEquals("available", textOf("volume-detail-state"));

        fill("resize-volume-size", "32M");
        submit("resize-volume");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("volume-detail-size"), "33554432 bytes"));

        fill("attach-volume-instanceId", "vm-web");
        submit("attach-volume");
        URI uri = URI.create(visible(By.id("volume-uri")).getText().strip());
        assertEquals("nbds", uri.getScheme());
        assertEquals("in-use", textOf("volume-detail-state"));
        Path dir = tmp.newFolder("tls").toPath();
        Files.writeString(dir.resolve("ca-cert.pem"), textOf("volume-ca-cert"));
        Files.writeString(dir.resolve("client-cert.pem"), textOf("volume-client-cert"));
        Files.writeString(dir.resolve("client-key.pem"), textOf("volume-client-key"));

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
            Object writes = js("return document.getElementById('volume-rates').dataset.writeOps");
            return writes != null && Long.parseLong((String) writes) > 0;
        });
        assertThat(textOf("volume-rates"), containsString("write"));
        visible(By.id("volume-iops-chart"));

        // Detach once the engine has seen the client's connection close, then delete.
        js("window.confirm = () => true;");
        wait.until(d -> {
            if ("available".equals(textOf("volume-detail-state"))) {
                return true;
            }
            List<WebElement> detach = browser.findElements(By.id("detach-volume"));
            if (!detach.isEmpty()) {
                detach.get(0).click();
            }
            return false;
        });
        visible(By.id("attach-volume"));
        js("window.confirm = () => true;");
        visible(By.id("delete-volume")).click();
        wait.until(d -> textOf("volumes-table") != null && !textOf("volumes-table").contains("web1"));
    }
}
