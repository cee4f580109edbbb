package cairn.web.internal.resources;

import java.io.IOException;
import java.io.InputStream;
import java.util.Set;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import cairn.platform.api.errors.InvalidInputException;
import cairn.platform.api.security.Role;
import cairn.upgrade.api.ImageSlotsStatus;
import cairn.upgrade.api.ImageStaging;
import cairn.upgrade.api.ImageUpgradeService;
import cairn.upgrade.api.UpgradeRequest;
import cairn.web.internal.rest.ApiResource;
import cairn.web.internal.rest.Call;
import cairn.web.internal.rest.Routes;

/**
 * {@code /upgrades/images}: firmware images. The image {@code .tar.gz} is the request
 * body ({@code Content-Type: application/gzip}); it is staged in the inactive slot and
 * boots on trial at the next start (202). Refusals are 400/409 and change nothing.
 */
@Component(service = ApiResource.class)
public class ImageUpgradesResource implements ApiResource {

    static final String GZIP = "application/gzip";
    private static final Set<String> ACCEPTED = Set.of(GZIP, "application/x-gzip", "application/x-compressed-tar");

    private final ImageUpgradeService images;

    @Activate
    public ImageUpgradesResource(@Reference ImageUpgradeService images) {
        this.images = images;
    }

    @Override
    public void routes(Routes r) {
        r.post("/upgrades/images", Role.ADMIN, "Stage the image .tar.gz in the body in the inactive slot; "
                + "it boots on trial at the next start").status(202)
                .returns(ImageStaging.class).handle(call -> {
                    try (InputStream archive = body(call)) {
                        try {
                            ImageStaging staged = images.stage(archive, new UpgradeRequest(call.caller().user(),
                                    "rest:" + call.source(), false, false));
                            call.auditTarget("image " + staged.version() + " staged in slot " + staged.slot());
                            return staged;
                        } catch (RuntimeException e) {
                            drain(archive);
                            throw e;
                        }
                    }
                });
        r.get("/upgrades/images", Role.VIEWER, "Image slots: running, active, pending, on trial, bad, versions")
                .returns(ImageSlotsStatus.class).handle(call -> images.slots());
    }

    /**
     * Reads what is left of a refused upload (bounded), so the client, still sending, gets
     * the error answer instead of a connection reset.
     */
    private static void drain(InputStream in) {
        try {
            in.transferTo(new java.io.OutputStream() {
                private long left = DRAIN_LIMIT;

                @Override
                public void write(int b) throws IOException {
                    write(new byte[] { (byte) b }, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    left -= len;
                    if (left < 0) {
                        throw new IOException("refused upload too long to drain");
                    }
                }
            });
        } catch (IOException e) {
            // the connection closes instead; the error answer is still attempted
        }
    }

    private static final long DRAIN_LIMIT = 2L << 30;

    private static InputStream body(Call call) throws IOException {
        String type = call.request().getContentType();
        String bare = type == null ? "" : type.split(";")[0].strip().toLowerCase(java.util.Locale.ROOT);
        if (!ACCEPTED.contains(bare)) {
            throw new InvalidInputException("body", "send the image .tar.gz as the body with Content-Type: " + GZIP
                    + (type == null ? "" : " (not " + type + ")"));
        }
        return call.request().getInputStream();
    }
}
