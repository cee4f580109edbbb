package cairn.nbd.internal;

/** The attachment behind an export was fenced: the request fails and the connection is closed. */
final class ExportFencedException extends NbdError {

    private static final long serialVersionUID = 1L;

    ExportFencedException(String message) {
        super(Nbd.EPERM, message);
    }
}
