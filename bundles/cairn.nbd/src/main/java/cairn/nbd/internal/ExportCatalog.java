package cairn.nbd.internal;

import java.util.List;

/** Resolves the export a client names during negotiation, with who the client is. */
interface ExportCatalog {

    /**
     * Opens the named export for this peer.
     *
     * @throws ExportRefusal with the option error to send (unknown export, policy, shutdown)
     */
    Export open(String name, Peer peer) throws ExportRefusal;

    /** Names this peer may see in NBD_OPT_LIST; null when listing is refused by policy. */
    List<String> list(Peer peer);

    /** Why an export cannot be opened: the option reply error and a message for the client. */
    final class ExportRefusal extends Exception {

        private static final long serialVersionUID = 1L;

        private final int reply;

        ExportRefusal(int reply, String message) {
            super(message);
            this.reply = reply;
        }

        static ExportRefusal unknown(String message) {
            return new ExportRefusal(Nbd.REP_ERR_UNKNOWN, message);
        }

        static ExportRefusal policy(String message) {
            return new ExportRefusal(Nbd.REP_ERR_POLICY, message);
        }

        static ExportRefusal shutdown(String message) {
            return new ExportRefusal(Nbd.REP_ERR_SHUTDOWN, message);
        }

        int reply() {
            return reply;
        }
    }
}
