package cairn.itests.browser;

import static org.hamcrest.CoreMatchers.containsString;
import static org.hamcrest.CoreMatchers.not;
import static org.hamcrest.MatcherAssert.assertThat;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.List;

import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import cairn.itests.support.ApplianceProcess;

/**
 * The web admin UI in Debian's headless Chromium, driven by Selenium through Debian's
 * chromedriver, against the real appliance process: what an operator does and sees.
 * A failing test leaves a screenshot and the page's HTML under target/screenshots.
 */
public class AdminUiTest {

    @ClassRule
    public static RunningAppliance appliance = new RunningAppliance();

    private ApplianceProcess app;
    private String adminPassword;
    private WebDriver browser;
    private WebDriverWait wait;

    @Rule
    public BrowserSession ui = new BrowserSession(Duration.ofSeconds(20));

    @Before
    public void browser() {
        app = appliance.app();
        adminPassword = appliance.adminPassword();
        browser = ui.browser();
        wait = ui.await();
    }

    /** Something happening on the appliance behind the browser's back: a user created over REST. */
    private void createUserOverRest(String name, String password, String role) throws Exception {
        var client = java.net.http.HttpClient.newHttpClient();
        var body = "{\"name\":\"" + name + "\",\"password\":\"" + password + "\",\"role\":\"" + role + "\"}";
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create(app.httpUrl() + "/api/v1/users"))
                .header("Content-Type", "application/json")
                .header("Authorization", "Basic " + java.util.Base64.getEncoder()
                        .encodeToString(("admin:" + adminPassword).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(body))
                .build();
        assertEquals(201, client.send(request, java.net.http.HttpResponse.BodyHandlers.ofString()).statusCode());
    }

    /** The texts of one column, read in one step: tables re-render while the page refreshes them. */
    @SuppressWarnings("unchecked")
    private List<String> column(String tableId, int index) {
        return (List<String>) ((JavascriptExecutor) browser).executeScript(
                "return [...document.querySelectorAll('#' + arguments[0] + ' tbody tr')]"
                        + ".filter(r => r.cells.length > arguments[1]).map(r => r.cells[arguments[1]].textContent)",
                tableId, index);
    }

    @Test
    public void anAdminLogsInWithTheInitialPasswordCreatesAUserFindsItInTheAuditLogAndLogsOut() {
        ui.logIn(app.httpUrl(), "admin", adminPassword);
        Cookie session = browser.manage().getCookieNamed("cairn_session");
        assertTrue("the session cookie is HttpOnly", session.isHttpOnly());
        assertTrue("the session cookie is Secure", session.isSecure());
        assertEquals("Strict", session.getSameSite());
        assertNull("scripts cannot read it", ((JavascriptExecutor) browser).executeScript(
                "return document.cookie.includes('cairn_session') ? 'visible' : null"));

        // the overview: identity, health and a live chart
        wait.until(ExpectedConditions.textToBe(By.id("health-status"), "READY"));
        assertFalse(ui.visible(By.id("appliance-name")).getText().isBlank());
        assertThat(ui.visible(By.id("appliance-version")).getText(), containsString("0.1.0"));
        assertTrue(column("health-checks", 0).contains("metadata"));
        ui.visible(By.id("metrics-chart"));
        assertThat("the initial password is pointed out", ui.visible(By.id("banner")).getText(),
                containsString("initial admin password"));

        // a new user, checked before sending and by the appliance
        ui.go("users");
        ui.fill("create-user-name", "carol");
        ui.fill("create-user-password", "short");
        browser.findElement(By.cssSelector("#create-user button[type=submit]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("create-user-password-error"),
                "at least 12 characters"));
        ui.fill("create-user-password", "carol's long password");
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("create-user-role"))).selectByValue("operator");
        browser.findElement(By.cssSelector("#create-user button[type=submit]")).click();
        wait.until(d -> column("users-table", 0).contains("carol"));
        assertEquals("", browser.findElement(By.id("create-user-name")).getAttribute("value"));

        ui.fill("create-user-name", "carol");
        ui.fill("create-user-password", "carol's long password");
        browser.findElement(By.cssSelector("#create-user button[type=submit]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.cssSelector("#create-user .error[role=alert]"),
                "already exists"));

        // the audit log shows who created carol
        ui.go("audit");
        ui.fill("audit-filter-action", "user.*");
        browser.findElement(By.cssSelector("#audit-filter button[type=submit]")).click();
        wait.until(d -> column("audit-table", 3).stream().allMatch(a -> a.startsWith("user."))
                && column("audit-table", 4).contains("carol"));
        int row = column("audit-table", 4).indexOf("carol");
        assertEquals("admin", column("audit-table", 1).get(row));
        assertEquals("user.create", column("audit-table", 3).get(row));

        // bundles are listed with their state
        ui.go("bundles");
        wait.until(d -> column("bundles-table", 1).contains("cairn.web"));

        // out, and out for good
        ui.visible(By.id("logout")).click();
        ui.visible(By.id("login-user"));
        browser.navigate().refresh();
        ui.visible(By.id("login-user"));
        assertTrue(browser.findElements(By.id("nav-users")).isEmpty());
    }

    @Test
    public void namesWithMarkupAreShownAsTextAndNeverRun() {
        ui.logIn(app.httpUrl(), "admin", adminPassword);
        String hostile = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>";
        ui.go("users");
        ui.fill("create-token-name", hostile);
        browser.findElement(By.cssSelector("#create-token button[type=submit]")).click();
        wait.until(d -> column("tokens-table", 0).contains(hostile));
        assertThat(ui.visible(By.id("token-secret")).getText(), containsString(hostile));

        // the user form refuses markup and shows the refused name as text
        ui.fill("create-user-name", "<script>x</script>");
        ui.fill("create-user-password", "a long enough password");
        browser.findElement(By.cssSelector("#create-user button[type=submit]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("create-user-name-error"), "lower-case"));

        ui.go("audit");
        ui.fill("audit-filter-action", "token.create");
        browser.findElement(By.cssSelector("#audit-filter button[type=submit]")).click();
        wait.until(d -> column("audit-table", 3).stream().allMatch(a -> a.equals("token.create"))
                && column("audit-table", 6).stream().anyMatch(t -> t.contains(hostile)));

        assertNull("no injected script ran", ((JavascriptExecutor) browser).executeScript("return window.pwned"));
        assertTrue(browser.findElements(By.cssSelector("#tokens-table img, #audit-table img, main script")).isEmpty());
        assertThat(browser.getPageSource(), not(containsString("<script>window.pwned")));
    }

    @Test
    public void theLogPageTailsTheApplianceLogLive() throws Exception {
        ui.logIn(app.httpUrl(), "admin", adminPassword);
        ui.go("logs");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("log-state"), "live"));
        assertThat(ui.visible(By.id("log-lines")).getText(), containsString("First boot"));
        // something new happens on the appliance: a user created through the REST API
        createUserOverRest("tailtest", "a long enough password", "viewer");
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("log-lines"), "User 'tailtest'"));
    }

    @Test
    public void aUserChangesTheirPasswordAndLogsInWithTheNewOne() throws Exception {
        createUserOverRest("olivia", "olivia's first password", "operator");
        ui.logIn(app.httpUrl(), "olivia", "olivia's first password");
        assertTrue("an operator has no audit page", browser.findElements(By.id("nav-audit")).isEmpty());
        ui.go("users");
        ui.fill("change-password-currentPassword", "not my password");
        ui.fill("change-password-newPassword", "olivia's second password");
        ui.fill("change-password-repeat", "olivia's second passwor");
        browser.findElement(By.cssSelector("#change-password button[type=submit]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("change-password-repeat-error"), "differ"));
        ui.fill("change-password-repeat", "olivia's second password");
        browser.findElement(By.cssSelector("#change-password button[type=submit]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("change-password-currentPassword-error"),
                "not the current password"));
        ui.fill("change-password-currentPassword", "olivia's first password");
        browser.findElement(By.cssSelector("#change-password button[type=submit]")).click();
        wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("main"), "Log in with the new one"));
        ui.logIn(app.httpUrl(), "olivia", "olivia's second password");
    }
}
