package cairn.web.internal.rest;

/** What a route does: map the call to an API service call and return the body to send. */
@FunctionalInterface
public interface Handler {

    /**
     * @return the response body as JSON (200, or the route's status), {@code null} for 204,
     *         or {@link Call#HANDLED} when the handler wrote the response itself
     */
    Object handle(Call call) throws Exception;
}
