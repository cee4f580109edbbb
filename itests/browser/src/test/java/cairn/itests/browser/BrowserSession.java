package cairn.itests.browser;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;

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

/**
 * One headless Chromium per test, as a JUnit rule: started before the test, left open
 * long enough for a failing test's screenshot and HTML (under target/screenshots), then
 * closed. Carries the few steps every UI test takes: log in, open a page, fill a field,
 * read an element's text.
 */
final class BrowserSession extends TestWatcher {

    private final Duration patience;
    private WebDriver browser;
    private WebDriverWait wait;

    /** {@code patience}: how long a step waits for the page before the test fails. */
    BrowserSession(Duration patience) {
        this.patience = patience;
    }

    @Override
    protected void starting(Description d) {
        browser = Chromium.headless();
        wait = new WebDriverWait(browser, patience);
    }

    @Override
    protected void failed(Throwable e, Description d) {
        if (browser == null) {
            return;
        }
        try {
            Path dir = Path.of(System.getProperty("cairn.screenshots", "target/screenshots"));
            Files.createDirectories(dir);
            File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
            String name = d.getTestClass().getSimpleName() + "." + d.getMethodName();
            Files.copy(shot.toPath(), dir.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
            Files.writeString(dir.resolve(name + ".html"), browser.getPageSource());
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

    WebDriver browser() {
        return browser;
    }

    WebDriverWait await() {
        return wait;
    }

    /** Logs in through the login form and waits until the header names the user. */
    void logIn(String baseUrl, String user, String password) {
        browser.get(baseUrl + "/");
        visible(By.id("login-user")).sendKeys(user);
        browser.findElement(By.id("login-password")).sendKeys(password);
        browser.findElement(By.cssSelector("#login button[type=submit]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("who-name"), user));
    }

    /** Opens a page from the navigation and waits for its route. */
    void go(String page) {
        visible(By.id("nav-" + page)).click();
        wait.until(ExpectedConditions.urlContains("#/" + page));
    }

    WebElement visible(By by) {
        return wait.until(ExpectedConditions.visibilityOfElementLocated(by));
    }

    void fill(String id, String value) {
        WebElement input = visible(By.id(id));
        input.clear();
        input.sendKeys(value);
    }

    void submit(String formId) {
        browser.findElement(By.cssSelector("#" + formId + " button[type=submit]")).click();
    }

    Object js(String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    /** An element's text read in one step (null when absent): pages re-render while polled. */
    String textOf(String id) {
        return (String) js("const e = document.getElementById(arguments[0]); return e ? e.textContent : null;", id);
    }
}
