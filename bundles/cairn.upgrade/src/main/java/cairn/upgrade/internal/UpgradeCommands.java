package cairn.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.apache.felix.service.command.annotations.GogoCommand;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.console.api.RequiredRole;
import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Caller;
import cairn.platform.api.security.Role;
import cairn.upgrade.api.ImageSlotsStatus;
import cairn.upgrade.api.ImageStaging;
import cairn.upgrade.api.ImageUpgradeService;
import cairn.upgrade.api.InstalledBundle;
import cairn.upgrade.api.UpgradePlan;
import cairn.upgrade.api.UpgradeRecord;
import cairn.upgrade.api.UpgradeRequest;
import cairn.upgrade.api.UpgradeResult;
import cairn.upgrade.api.UpgradeService;

/**
 * {@code upgrade:*} in the SSH console: the same {@link UpgradeService} calls as REST.
 * A jar or an image is named by a path on the appliance or by a URL (http, https, file).
 */
@Component(service = UpgradeCommands.class)
@GogoCommand(scope = "upgrade", function = { "install", "plan", "history", "rollback", "bundles", "image",
        "images" })
public class UpgradeCommands {

    private final UpgradeService upgrades;
    private final ImageUpgradeService images;

    @Activate
    public UpgradeCommands(@Reference UpgradeService upgrades, @Reference ImageUpgradeService images) {
        this.upgrades = upgrades;
        this.images = images;
    }

    @RequiredRole(Role.ADMIN)
    @Descriptor("upgrade a bundle from a jar; committed when healthy, else the previous jar is restored")
    public UpgradeResult install(
            @Descriptor("allow the same or a lower version") @Parameter(names = { "-f", "--force" }, presentValue = "true", absentValue = "false") boolean force,
            @Descriptor("go ahead although other bundles must be refreshed") @Parameter(names = { "-c", "--confirm" }, presentValue = "true", absentValue = "false") boolean confirm,
            Caller caller, @Descriptor("path of the jar on the appliance, or its URL") String jar) throws IOException {
        try (InputStream in = open(jar, "jar")) {
            return upgrades.upgrade(in, request(caller, jar, force, confirm));
        }
    }

    @RequiredRole(value = Role.ADMIN, readOnly = true)
    @Descriptor("check a jar and show what upgrading to it would restart; changes nothing")
    public UpgradePlan plan(
            @Descriptor("allow the same or a lower version") @Parameter(names = { "-f", "--force" }, presentValue = "true", absentValue = "false") boolean force,
            @Descriptor("go ahead although other bundles must be refreshed") @Parameter(names = { "-c", "--confirm" }, presentValue = "true", absentValue = "false") boolean confirm,
            Caller caller, @Descriptor("path of the jar on the appliance, or its URL") String jar) throws IOException {
        try (InputStream in = open(jar, "jar")) {
            return upgrades.plan(in, request(caller, jar, force, confirm));
        }
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("the upgrade history, newest first")
    public List<UpgradeRecord> history(
            @Descriptor("at most this many records") @Parameter(names = { "-n", "--limit" }, absentValue = "50") int limit,
            Caller caller) {
        return upgrades.history(null, limit);
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("the upgrade history of one bundle, newest first")
    public List<UpgradeRecord> history(
            @Descriptor("at most this many records") @Parameter(names = { "-n", "--limit" }, absentValue = "50") int limit,
            Caller caller, @Descriptor("bundle symbolic name") String bundle) {
        return upgrades.history(bundle, limit);
    }

    @RequiredRole(Role.ADMIN)
    @Descriptor("go back to the bundle's previous version (health-checked like an upgrade)")
    public UpgradeResult rollback(
            @Descriptor("go ahead although other bundles must be refreshed") @Parameter(names = { "-c", "--confirm" }, presentValue = "true", absentValue = "false") boolean confirm,
            Caller caller, @Descriptor("bundle symbolic name") String bundle) {
        return upgrades.rollback(bundle, new UpgradeRequest(caller.user(), caller.source(), false, confirm));
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("installed bundles with the version a rollback would go back to")
    public List<InstalledBundle> bundles(Caller caller) {
        return upgrades.bundles();
    }

    @RequiredRole(Role.ADMIN)
    @Descriptor("stage a firmware image (.tar.gz) in the inactive slot; it boots on trial at the next start")
    public ImageStaging image(Caller caller,
            @Descriptor("path of the image .tar.gz on the appliance, or its URL") String image) throws IOException {
        try (InputStream in = open(image, "image")) {
            return images.stage(in, request(caller, image, false, false));
        }
    }

    @RequiredRole(Role.VIEWER)
    @Descriptor("the image slots: running, active, pending, bad, and their versions")
    public ImageSlotsStatus images(Caller caller) {
        return images.slots();
    }

    private static UpgradeRequest request(Caller caller, String jar, boolean force, boolean confirm) {
        return new UpgradeRequest(caller.user(), caller.source() + " " + jar, force, confirm);
    }

    private static InputStream open(String jar, String field) throws IOException {
        if (jar == null || jar.isBlank()) {
            throw new InvalidInputException(field, "name the " + field + ": a path on the appliance or a URL");
        }
        if (jar.matches("^[a-zA-Z][a-zA-Z0-9+.-]*:.*") && !jar.startsWith("/")) {
            URI uri;
            try {
                uri = new URI(jar);
            } catch (URISyntaxException e) {
                throw new InvalidInputException(field, "'" + jar + "' is not a valid URL: " + e.getMessage());
            }
            String scheme = uri.getScheme().toLowerCase(java.util.Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https") && !scheme.equals("file")) {
                throw new InvalidInputException(field, "only http, https and file URLs are supported, not " + scheme);
            }
            try {
                URLConnection c = uri.toURL().openConnection();
                c.setConnectTimeout(10_000);
                c.setReadTimeout(60_000);
                return c.getInputStream();
            } catch (MalformedURLException e) {
                throw new InvalidInputException(field, "'" + jar + "' is not a valid URL: " + e.getMessage());
            } catch (IOException e) {
                throw new InvalidInputException(field, "cannot download " + jar + ": " + e.getMessage());
            }
        }
        Path p = Path.of(jar);
        if (!p.isAbsolute()) {
            throw new InvalidInputException(field, "give the absolute path of the " + field + " on the appliance, not " + jar);
        }
        if (!Files.isRegularFile(p)) {
            throw new InvalidInputException(field, "no file " + jar + " on the appliance");
        }
        return Files.newInputStream(p);
    }
}
