package cairn.itests.browser;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
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
    public BrowserSession ui = new BrowserSession(Duration.ofSeconds(120));

    @Before
    public void start() {
        app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"), List.of(), Map.of()).startAndAwaitReady();
        browser = ui.browser();
        wait = ui.await();
    }

    @After
    public void stop() {
        if (app != null) {
            app.stop();
        }
    }

    @Test
    public void anAdminUploadsABundleJarSeesItsPlanAndFindsItCommittedInTheHistory() throws Exception {
        Path original = UpgradeJars.imageJar(BUNDLE);
        String shipped = UpgradeJars.version(original);
        String higher = UpgradeJars.higher(shipped);
        Path jar = UpgradeJars.withVersion(original, higher, tmp.getRoot().toPath().resolve("jars/" + BUNDLE + ".jar"));

        ui.logIn(app.httpUrl(), "admin", app.initialAdminPassword());
        ui.go("bundles");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("bundles-table"), BUNDLE));
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("image-slot-a"), "running"));

        // the plan first: this bundle, shipped -> higher, nothing else restarts
        ui.visible(By.id("upgrade-jar")).sendKeys(jar.toString());
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("upgrade-plan-bundle"), BUNDLE));
        assertThat(ui.textOf("upgrade-plan-versions"), containsString(shipped + " → " + higher));
        assertThat(ui.textOf("upgrade-plan-restarts"), containsString("nothing else"));
        wait.until(ExpectedConditions.elementToBeClickable(By.id("upgrade-install"))).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("upgrade-outcome"), "committed"));
        assertThat(ui.textOf("upgrade-outcome"), containsString("running " + higher));
        wait.until(d -> ui.textOf("upgrade-history").contains(higher) && ui.textOf("upgrade-history").contains("committed"));
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("bundles-table"), higher));

        // the shipped jar is now a downgrade: held back until force is ticked
        WebElement input = browser.findElement(By.id("upgrade-jar"));
        input.clear();
        input.sendKeys(original.toRealPath().toString());
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("upgrade-plan-versions"), "needs force"));
        ui.visible(By.id("upgrade-force-field"));
        assertFalse("a downgrade is not offered without force", browser.findElement(By.id("upgrade-install")).isEnabled());
        browser.findElement(By.id("upgrade-force")).click();
        wait.until(ExpectedConditions.elementToBeClickable(By.id("upgrade-install")));
        assertThat(ui.textOf("upgrade-plan-problems"), containsString("none"));

        // a file that is not an image: refused, the slots unchanged
        Path junk = tmp.getRoot().toPath().resolve("not-an-image.tar.gz");
        Files.writeString(junk, "not an image");
        ((JavascriptExecutor) browser).executeScript("window.confirm = () => true;");
        ui.visible(By.id("image-file")).sendKeys(junk.toString());
        browser.findElement(By.id("image-stage")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("image-error"), "not a .tar.gz image archive"));
        assertTrue(ui.textOf("image-slot-b"), ui.textOf("image-slot-b").contains("empty"));
    }
}
