package cairn.platform.api.errors;

/** The caller is known but may not do this. */
public class ForbiddenException extends CairnException {

    private static final long serialVersionUID = 1L;

    public ForbiddenException(String message) {
        super(Kind.FORBIDDEN, "forbidden", message);
    }
}
