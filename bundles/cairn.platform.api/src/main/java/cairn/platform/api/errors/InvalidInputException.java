package cairn.platform.api.errors;

/** A request field is missing or invalid; {@link #field()} names it. */
public class InvalidInputException extends CairnException {

    private static final long serialVersionUID = 1L;

    private final String field;

    public InvalidInputException(String field, String message) {
        super(Kind.INVALID_INPUT, "invalid_field", field == null ? message : field + ": " + message);
        this.field = field;
    }

    /** The field at fault, or null when the request as a whole is malformed. */
    public String field() {
        return field;
    }
}
