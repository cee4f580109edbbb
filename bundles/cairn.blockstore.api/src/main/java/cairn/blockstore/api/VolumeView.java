package cairn.blockstore.api;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * A read-only, crash-consistent point-in-time image of a volume, for snapshots: it holds
 * exactly the writes acknowledged before it was opened, while the volume keeps taking
 * writes (the engine copies a block aside before it is first overwritten). Close it as soon
 * as it has been read; an open view costs space and a little write latency.
 */
@ProviderType
public interface VolumeView extends AutoCloseable {

    String volumeId();

    /** The volume's size when the view was opened. */
    long size();

    /**
     * The change-tracking generation the view closes: every change recorded at this
     * generation or before is in the view. Pass it to the next
     * {@link VolumeService#changedBlocks} call to find what changed after this view.
     */
    long generation();

    void read(long offset, ByteBuffer dst) throws IOException;

    List<Extent> blockStatus(long offset, long length) throws IOException;

    @Override
    void close();
}
