package cairn.blockstore.api;

import java.io.IOException;
import java.nio.ByteBuffer;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A second copy that must also acknowledge a volume's writes (replication). Registered as a
 * service with the property {@link #VOLUME_ID}; the engine calls it after its local write
 * and before acknowledging the client, for every channel of that volume.
 *
 * <p>A mirror that throws fails the client's request (NBD_EIO). A mirror that wants to
 * degrade instead (keep serving from the primary alone) records the failure itself and
 * returns normally; the changed-block map tells it what to resync later.
 */
@ConsumerType
public interface VolumeMirror {

    /** Service property: the id of the volume this mirror copies. */
    String VOLUME_ID = "cairn.volume.id";

    void write(long epoch, long offset, ByteBuffer src, boolean fua) throws IOException;

    void writeZeroes(long epoch, long offset, long length, boolean fua) throws IOException;

    void flush(long epoch) throws IOException;
}
