package cairn.platform.api.errors;

/** No such object, or not one the caller's account may see. */
public class NotFoundException extends CairnException {

    private static final long serialVersionUID = 1L;

    public NotFoundException(String what, String id) {
        super(Kind.NOT_FOUND, "not_found", what + " '" + id + "' does not exist");
    }
}
