package cairn.nbd.internal;

import java.io.IOException;

/** A failed request, with the protocol's error value to send back and a sentence for the person at the client. */
class NbdError extends IOException {

    private static final long serialVersionUID = 1L;

    private final int errno;

    NbdError(int errno, String message) {
        super(message);
        this.errno = errno;
    }

    NbdError(int errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    int errno() {
        return errno;
    }
}
