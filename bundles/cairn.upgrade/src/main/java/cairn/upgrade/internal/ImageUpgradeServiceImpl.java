package cairn.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Locale;

import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.image.Image;
import cairn.image.ImageArchive;
import cairn.image.ImageException;
import cairn.image.ImageSlots;
import cairn.image.SlotState;
import cairn.image.StagedImage;
import cairn.platform.api.AppliancePaths;
import cairn.platform.api.audit.AuditEntry;
import cairn.platform.api.audit.AuditLog;
import cairn.platform.api.errors.ConflictException;
import cairn.platform.api.errors.InvalidInputException;
import cairn.upgrade.api.ImageSlotsStatus;
import cairn.upgrade.api.ImageStaging;
import cairn.upgrade.api.ImageUpgradeService;
import cairn.upgrade.api.UpgradeConstants;
import cairn.upgrade.api.UpgradeRequest;

/**
 * Stages an uploaded image through {@link ImageSlots}, the very code the launcher uses
 * for {@code bin/cairn upgrade} and at boot, so the checks and the slot state are the
 * same whichever surface an image comes from. The running slot is passed along so that
 * staging can never replace the image in use.
 */
@Component(configurationPid = UpgradeConstants.IMAGE_PID)
@Designate(ocd = ImageUpgradeServiceImpl.Config.class)
public class ImageUpgradeServiceImpl implements ImageUpgradeService {

    @ObjectClassDefinition(name = "Cairn image upgrade", description = "Limits of firmware images staged at run time")
    public @interface Config {
        @AttributeDefinition(description = "Largest unpacked image accepted, in MiB", min = "16", max = "65536")
        int maxImageMegabytes() default 1024;

        @AttributeDefinition(description = "Most files and folders an image may hold", min = "100", max = "1000000")
        int maxImageEntries() default 20_000;
    }

    static final String TAKES_EFFECT = "at the next start, on trial: the appliance keeps it once healthy, "
            + "else the following start boots the previous image again";

    private static final Logger LOG = LoggerFactory.getLogger(ImageUpgradeServiceImpl.class);

    private final ImageSlots slots;
    private final String runningSlot;
    private final String runningVersion;
    private final Image installed;
    private final ImageArchive.Limits limits;

    private volatile AuditLog audit;

    @Activate
    public ImageUpgradeServiceImpl(BundleContext context, Config config) {
        String data = context.getProperty(AppliancePaths.DATA);
        this.slots = ImageSlots.of(Path.of(data != null ? data : "data").toAbsolutePath());
        this.runningSlot = context.getProperty(UpgradeConstants.IMAGE_SLOT);
        this.runningVersion = context.getProperty(AppliancePaths.VERSION);
        this.installed = installedImage(context);
        this.limits = new ImageArchive.Limits((long) config.maxImageMegabytes() << 20, config.maxImageEntries());
    }

    /** The platform's audit log is itself upgradable: audit when it is there, log when not. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setAudit(AuditLog a) {
        this.audit = a;
    }

    void unsetAudit(AuditLog a) {
        if (this.audit == a) {
            this.audit = null;
        }
    }

    @Override
    public ImageStaging stage(InputStream archive, UpgradeRequest request) {
        try {
            StagedImage staged = slots.stage(archive, limits, runningSlot, installed);
            audit(request, "slot " + staged.slot() + ": image " + staged.version(), "staged",
                    staged.bytes() + " bytes unpacked; takes effect " + TAKES_EFFECT);
            LOG.info("image {} ({}) staged in slot {} by {} from {}", staged.version(), staged.role(), staged.slot(),
                    request.actor(), request.source());
            return new ImageStaging(staged.slot(), staged.version(), staged.role(), staged.bytes(), TAKES_EFFECT,
                    status(staged.state()));
        } catch (ImageException e) {
            audit(request, "image", "refused", e.getMessage());
            LOG.warn("image staging by {} from {} refused: {}", request.actor(), request.source(), e.getMessage());
            if (e.kind() == ImageException.Kind.CONFLICT) {
                throw new ConflictException("image_slot_busy", e.getMessage());
            }
            throw new InvalidInputException("image", e.getMessage());
        } catch (IOException e) {
            audit(request, "image", "failed", e.toString());
            throw new UncheckedIOException("staging the image failed: " + e.getMessage(), e);
        }
    }

    @Override
    public ImageSlotsStatus slots() {
        return status(slots.state(installed));
    }

    private ImageSlotsStatus status(SlotState s) {
        return new ImageSlotsStatus(runningSlot, runningVersion, s.active(), s.pending(), s.trial(), s.versions(),
                s.bad());
    }

    private void audit(UpgradeRequest request, String target, String result, String detail) {
        AuditLog a = audit;
        if (a == null) {
            LOG.warn("audit log unavailable; image staging {} by {} not audited", result, request.actor());
            return;
        }
        try {
            a.record(AuditEntry.of(request.actor(), request.source(), "image.stage", target,
                    result.toLowerCase(Locale.ROOT), detail));
        } catch (RuntimeException e) {
            LOG.warn("could not audit the image staging by {}: {}", request.actor(), e.getMessage());
        }
    }

    private static Image installedImage(BundleContext context) {
        String home = context.getProperty(UpgradeConstants.INSTALLED_HOME);
        if (home == null) {
            home = context.getProperty(AppliancePaths.HOME);
        }
        if (home == null) {
            return null;
        }
        try {
            return Image.at(Path.of(home));
        } catch (ImageException e) {
            return null;
        }
    }
}
