package cairn.blockstore.api;

import java.io.IOException;

/**
 * The engine that served this channel is going away (its component is deactivating for a
 * restart or an upgrade). Not final: the request did not happen; the NBD server holds it,
 * waits (bounded) for the {@link VolumeService} to come back, opens a new channel with the
 * same export name or certificate and sends the request again.
 */
public class EngineUnavailableException extends IOException {

    private static final long serialVersionUID = 1L;

    public EngineUnavailableException(String message) {
        super(message);
    }
}
