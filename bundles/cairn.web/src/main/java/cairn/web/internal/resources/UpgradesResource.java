package cairn.web.internal.resources;

import java.io.IOException;
import java.io.InputStream;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Role;
import cairn.upgrade.api.InstalledBundle;
import cairn.upgrade.api.UpgradePlan;
import cairn.upgrade.api.UpgradeRecord;
import cairn.upgrade.api.UpgradeRequest;
import cairn.upgrade.api.UpgradeResult;
import cairn.upgrade.api.UpgradeService;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Call;
import cairn.web.internal.rest.Routes;

/**
 * {@code /upgrades}: hot bundle upgrades. The jar is the request body
 * ({@code Content-Type: application/java-archive}); the answer says whether it was
 * committed or rolled back and why. Refusals are 400/409 and change nothing.
 */
@Component(service = ApiResource.class)
public class UpgradesResource implements ApiResource {

    static final String JAR = "application/java-archive";

    private final UpgradeService upgrades;

    @Activate
    public UpgradesResource(@Reference UpgradeService upgrades) {
        this.upgrades = upgrades;
    }

    @Override
    public void routes(Routes r) {
        r.post("/upgrades", Role.ADMIN, "Upgrade a bundle from the jar in the body; committed when healthy, "
                + "else rolled back (see outcome and reason)")
                .query("force", "boolean", "allow the same or a lower version")
                .query("confirm", "boolean", "go ahead although other bundles must be refreshed")
                .returns(UpgradeResult.class).handle(call -> {
                    try (InputStream jar = jarBody(call)) {
                        UpgradeResult result = upgrades.upgrade(jar, request(call));
                        call.auditTarget(result.symbolicName() + " " + result.fromVersion() + " -> " + result.toVersion()
                                + ": " + result.outcome());
                        return result;
                    }
                });
        r.post("/upgrades/plan", Role.ADMIN, "Validate the jar in the body and show its impact; changes nothing")
                .query("force", "boolean", "allow the same or a lower version")
                .query("confirm", "boolean", "go ahead although other bundles must be refreshed")
                .returns(UpgradePlan.class).handle(call -> {
                    try (InputStream jar = jarBody(call)) {
                        return upgrades.plan(jar, request(call));
                    }
                });
        r.get("/upgrades", Role.VIEWER, "Upgrade history, newest first")
                .query("bundle", "string", "only this bundle symbolic name")
                .query("limit", "integer", "at most this many records (default 100)")
                .returnsListOf(UpgradeRecord.class)
                .handle(call -> upgrades.history(call.query("bundle"), call.queryInt("limit", 100, 1, 10_000)));
        r.get("/upgrades/bundles", Role.VIEWER, "Installed bundles with the version a rollback would go back to")
                .returnsListOf(InstalledBundle.class).handle(call -> upgrades.bundles());
        r.post("/upgrades/{bundle}/rollback", Role.ADMIN, "Go back to the bundle's previous version")
                .query("confirm", "boolean", "go ahead although other bundles must be refreshed")
                .returns(UpgradeResult.class).handle(call -> {
                    UpgradeResult result = upgrades.rollback(call.param("bundle"), request(call));
                    call.auditTarget(result.symbolicName() + " " + result.fromVersion() + " -> " + result.toVersion()
                            + ": " + result.outcome());
                    return result;
                });
    }

    private static UpgradeRequest request(Call call) {
        return new UpgradeRequest(call.caller().user(), "rest:" + call.source(), flag(call, "force"),
                flag(call, "confirm"));
    }

    private static boolean flag(Call call, String name) {
        String v = call.query(name);
        if (v == null || v.equalsIgnoreCase("false")) {
            return false;
        }
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        throw new InvalidInputException(name, "must be true or false, not '" + v + "'");
    }

    private static InputStream jarBody(Call call) throws IOException {
        String type = call.request().getContentType();
        String bare = type == null ? "" : type.split(";")[0].strip();
        if (!bare.equalsIgnoreCase(JAR)) {
            throw new InvalidInputException("body", "send the bundle jar as the body with Content-Type: " + JAR
                    + (type == null ? "" : " (not " + type + ")"));
        }
        return call.request().getInputStream();
    }
}
