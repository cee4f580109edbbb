package cairn.platform.api.errors;

/** The object's current state does not allow the operation. */
public class ConflictException extends CairnException {

    private static final long serialVersionUID = 1L;

    public ConflictException(String code, String message) {
        super(Kind.CONFLICT, code, message);
    }
}
