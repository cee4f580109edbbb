package cairn.image;

/**
 * An image or a slot operation was refused; nothing was changed. The message is meant
 * for the operator and names what is wrong.
 */
public class ImageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why it was refused: the input is at fault, or the slots are not in a state that allows it. */
    public enum Kind {
        /** Not an image archive, an unsafe or oversized archive, or an incomplete image. */
        INVALID,
        /** The slots are busy (a trial runs in the slot that would be replaced, the state is locked). */
        CONFLICT
    }

    private final Kind kind;

    public ImageException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public ImageException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    static ImageException invalid(String message) {
        return new ImageException(Kind.INVALID, message);
    }
}
