package cairn.metadata.internal;

/** The metadata database cannot be opened; the message says why and what to do. */
class MetadataStoreException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    MetadataStoreException(String message) {
        super(message);
    }

    MetadataStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
