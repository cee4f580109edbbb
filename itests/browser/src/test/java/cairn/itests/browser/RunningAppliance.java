package cairn.itests.browser;

import java.util.List;
import java.util.Map;

import org.junit.rules.ExternalResource;
import org.junit.rules.TemporaryFolder;

import cairn.itests.support.ApplianceProcess;

/**
 * One real appliance for a whole test class, as a class rule: started on a fresh data
 * directory before the first test, stopped after the last.
 */
final class RunningAppliance extends ExternalResource {

    private final TemporaryFolder tmp = new TemporaryFolder();
    private ApplianceProcess app;
    private String adminPassword;

    @Override
    protected void before() throws Throwable {
        tmp.create();
        app = ApplianceProcess.create(tmp.getRoot().toPath().resolve("data"), List.of(), Map.of()).startAndAwaitReady();
        adminPassword = app.initialAdminPassword();
    }

    @Override
    protected void after() {
        if (app != null) {
            app.stop();
        }
        tmp.delete();
    }

    ApplianceProcess app() {
        return app;
    }

    String adminPassword() {
        return adminPassword;
    }
}
