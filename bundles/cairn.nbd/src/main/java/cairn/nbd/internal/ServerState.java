package cairn.nbd.internal;

/** Whether the server is stopping: new work is refused with ESHUTDOWN, waits for the engine end early. */
final class ServerState {

    private volatile boolean stopping;

    boolean stopping() {
        return stopping;
    }

    void stop() {
        stopping = true;
    }
}
