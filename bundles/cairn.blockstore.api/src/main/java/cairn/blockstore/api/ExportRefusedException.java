package cairn.blockstore.api;

import java.io.IOException;

/**
 * No channel for this export: the name is unknown, or the client certificate was not issued
 * for it. Deliberately vague towards the client (NBD_REP_ERR_UNKNOWN or a closed connection),
 * so export names cannot be probed; the message is for the server's log.
 */
public class ExportRefusedException extends IOException {

    private static final long serialVersionUID = 1L;

    public ExportRefusedException(String message) {
        super(message);
    }
}
