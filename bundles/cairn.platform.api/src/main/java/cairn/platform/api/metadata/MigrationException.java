package cairn.platform.api.metadata;

/** A schema migration could not be applied; nothing of the failing script was kept. */
public class MigrationException extends Exception {

    private static final long serialVersionUID = 1L;

    public MigrationException(String message) {
        super(message);
    }

    public MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
