package cairn.upgrade.api;

import java.io.InputStream;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Firmware-style image upgrade from a running appliance: the same staging and the same
 * checks as {@code bin/cairn upgrade IMAGE.tar.gz}. The image is unpacked into the
 * inactive slot and takes effect at the next start, on trial; the running image is never
 * touched.
 *
 * <p>Refusals (not a {@code .tar.gz}, no {@code bin/cairn}, {@code bundles/} or launcher,
 * entries that climb out of the image, links, too large) throw
 * {@link cairn.platform.api.errors.InvalidInputException}; a slot that cannot be replaced
 * now (on trial) throws {@link cairn.platform.api.errors.ConflictException}. Either way
 * the slots stay exactly as they were. Every attempt is audited.
 */
@ProviderType
public interface ImageUpgradeService {

    /** Stages the image archive (a gzip-compressed tar) read from the stream. */
    ImageStaging stage(InputStream archive, UpgradeRequest request);

    /** The slots: which one runs, which is active, pending, on trial or bad, and their versions. */
    ImageSlotsStatus slots();
}
