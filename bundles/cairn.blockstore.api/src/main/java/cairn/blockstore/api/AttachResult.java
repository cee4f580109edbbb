package cairn.blockstore.api;

/**
 * The answer of {@link VolumeService#attach}: the attachment, and whether this call
 * created it ({@code 201}) or the same instance attached again ({@code 200}).
 */
public record AttachResult(Attachment attachment, boolean created) {
}
