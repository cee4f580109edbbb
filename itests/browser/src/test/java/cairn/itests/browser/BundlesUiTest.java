package cairn.itests.browser;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.After;
import org.junit.Before;
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
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import cairn.itests.support.ApplianceProcess;
import cairn.itests.support.UpgradeJars;

/**
 * The bundles page in headless Chromium against the real appliance: a bundle jar is
 * uploaded, its plan shown, the upgrade committed and seen in the history with its
 * result; a lower version is held back until force is ticked; a file that is not an
 * image is refused on the firmware card and the slots stay as they were.
 */
public class BundlesUiTest {

    private static final String BUNDLE = "cairn.blockstore";

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private ApplianceProcess app;
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

        @Override
        protected void finished(Description d) {
            if (browser != null) {
                browser.quit();
                browser = null;
            }
        }
    };

    @Before
    public void start() {
        app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"), List.of(), Map.of()).startAndAwaitReady();
        browser = Chromium.headless();
        wait = new WebDriverWait(browser, Duration.ofSeconds(120));
    }

    @After
    public void stop() {
        if (app != null) {
            app.stop();
        }
    }

    private WebElement visible(By by) {
        return wait.until(ExpectedConditions.visibilityOfElementLocated(by));
    }

    private String textOf(String id) {
        return (String) ((JavascriptExecutor) browser).executeScript(
                "const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", id);
    }

    @Test
    public void anAdminUploadsABundleJarSeesItsPlanAndFindsItCommittedInTheHistory() throws Exception {
        Path original = UpgradeJars.imageJar(BUNDLE);
        String shipped = UpgradeJars.version(original);
        String higher = UpgradeJars.higher(shipped);
        Path jar = UpgradeJars.withVersion(original, higher, tmp.getRoot().toPath().resolve("jars/" + BUNDLE + ".jar"));

        browser.get(app.httpUrl() + "/");
        visible(By.id("login-user")).sendKeys("admin");
        browser.findElement(By.id("login-password")).sendKeys(app.initialAdminPassword());
        browser.findElement(By.cssSelector("#login button[type=submit]")).click();
        visible(By.id("nav-bundles")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("bundles-table"), BUNDLE));
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("image-slot-a"), "running"));

        // the plan first: this bundle, shipped -> higher, nothing else restarts
        visible(By.id("upgrade-jar")).sendKeys(jar.toString());
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("upgrade-plan-bundle"), BUNDLE));
        assertThat(textOf("upgrade-plan-versions"), containsString(shipped + " → " + higher));
        assertThat(textOf("upgrade-plan-restarts"), containsString("nothing else"));
        wait.until(ExpectedConditions.elementToBeClickable(By.id("upgrade-install"))).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("upgrade-outcome"), "committed"));
        assertThat(textOf("upgrade-outcome"), containsString("running " + higher));
        wait.until(d -> textOf("upgrade-history").contains(higher) && textOf("upgrade-history").contains("committed"));
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("bundles-table"), higher));

        // the shipped jar is now a downgrade: held back until force is ticked
        WebElement input = browser.findElement(By.id("upgrade-jar"));
        input.clear();
        input.sendKeys(original.toRealPath().toString());
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("upgrade-plan-versions"), "needs force"));
        visible(By.id("upgrade-force-field"));
        assertFalse("a downgrade is not offered without force", browser.findElement(By.id("upgrade-install")).isEnabled());
        browser.findElement(By.id("upgrade-force")).click();
        wait.until(ExpectedConditions.elementToBeClickable(By.id("upgrade-install")));
        assertThat(textOf("upgrade-plan-problems"), containsString("none"));

        // a file that is not an image: refused, the slots unchanged
        Path junk = tmp.getRoot().toPath().resolve("not-an-image.tar.gz");
        Files.writeString(junk, "not an image");
        ((JavascriptExecutor) browser).executeScript("window.confirm = () => true;");
        visible(By.id("image-file")).sendKeys(junk.toString());
        browser.findElement(By.id("image-stage")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("image-error"), "not a .tar.gz image archive"));
        assertTrue(textOf("image-slot-b"), textOf("image-slot-b").contains("empty"));
    }
}
