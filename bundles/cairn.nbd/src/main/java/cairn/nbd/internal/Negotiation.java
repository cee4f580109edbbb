package cairn.nbd.internal;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;


import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import cairn.nbd.internal.ExportCatalog.ExportRefusal;

/**
 * The handshake and option haggling of fixed newstyle negotiation, up to the start of
 * transmission. Anything that breaks the framing (bad magic, unknown client flags, an
 * oversized option) ends the connection; a well-framed option we cannot honour gets
 * an error reply and negotiation goes on.
 */
final class Negotiation {

    private static final Logger LOG = LoggerFactory.getLogger(Negotiation.class);

    /** No option we support carries more: a name and a few queries of at most 4096 bytes each. */
    static final int MAX_OPTION_LENGTH = 64 * 1024;
    static final int MAX_STRING = 4096;

    /** What negotiation agreed on, or why the connection ends. */
    record Outcome(Wire wire, Peer peer, Export export, boolean structured, boolean baseAllocation) {
    }

    /** The client aborted or broke the protocol: close without transmission. */
    static final class Ended extends IOException {
        private static final long serialVersionUID = 1L;

        Ended(String message) {
            super(message);
        }
    }

    private final ExportCatalog catalog;
    private final TlsProvider tls;
    private final boolean tlsRequired;
    private final Limits limits;
    private final ServerState state;

    private Wire wire;
    private Peer peer;
    private boolean noZeroes;
    private boolean structured;
    private boolean baseAllocation;

    /**
     * @param tls         the server context, null when this transport offers no TLS
     * @param tlsRequired every option but STARTTLS and ABORT is refused until TLS runs
     */
    Negotiation(Wire wire, Peer peer, ExportCatalog catalog, TlsProvider tls, boolean tlsRequired, Limits limits,
            ServerState state) {
        this.wire = wire;
        this.peer = peer;
        this.catalog = catalog;
        this.tls = tls;
        this.tlsRequired = tlsRequired;
        this.limits = limits;
        this.state = state;
    }

    Outcome run() throws IOException {
        ByteBuffer hello = ByteBuffer.allocate(18);
        hello.putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT).putShort((short) (Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES));
        wire.write(hello.flip());

        ByteBuffer clientFlags = ByteBuffer.allocate(4);
        wire.readFully(clientFlags);
        int flags = clientFlags.getInt(0);
        if ((flags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
            throw new Ended("unknown client flags 0x" + Integer.toHexString(flags));
        }
        if ((flags & Nbd.FLAG_C_FIXED_NEWSTYLE) == 0) {
            throw new Ended("client does not speak fixed newstyle negotiation");
        }
        noZeroes = (flags & Nbd.FLAG_C_NO_ZEROES) != 0;

        ByteBuffer header = ByteBuffer.allocate(16);
        while (true) {
            header.clear();
            wire.readFully(header);
            header.flip();
            if (header.getLong() != Nbd.IHAVEOPT) {
                throw new Ended("bad option magic");
            }
            int option = header.getInt();
            long length = Integer.toUnsignedLong(header.getInt());
            if (length > MAX_OPTION_LENGTH) {
                throw new Ended("option " + option + " carries " + length + " bytes, more than any option needs");
            }
            ByteBuffer data = ByteBuffer.allocate((int) length);
            wire.readFully(data);
            data.flip();
            Outcome done = option(option, data);
            if (done != null) {
                return done;
            }
        }
    }

    private Outcome option(int option, ByteBuffer data) throws IOException {
        if (option == Nbd.OPT_ABORT) {
            try {
                reply(option, Nbd.REP_ACK, null);
            } catch (IOException e) {
                // the client may already be gone; that is fine after an abort
            }
            throw new Ended("client aborted negotiation");
        }
        if (tlsRequired && !peer.tls() && option != Nbd.OPT_STARTTLS) {
            if (option == Nbd.OPT_EXPORT_NAME) {
                throw new Ended("NBD_OPT_EXPORT_NAME before TLS: this server requires TLS");
            }
            error(option, Nbd.REP_ERR_TLS_REQD, "this server requires TLS with a client certificate (STARTTLS)");
            return null;
        }
        if (state.stopping() && option != Nbd.OPT_STARTTLS) {
            if (option == Nbd.OPT_EXPORT_NAME) {
                throw new Ended("server is shutting down");
            }
            error(option, Nbd.REP_ERR_SHUTDOWN, "server is shutting down");
            return null;
        }
        try {
            switch (option) {
            case Nbd.OPT_EXPORT_NAME:
                return exportName(data);
            case Nbd.OPT_LIST:
                list(data);
                return null;
            case Nbd.OPT_STARTTLS:
                startTls(data);
                return null;
            case Nbd.OPT_INFO:
            case Nbd.OPT_GO:
                return infoOrGo(option, data);
            case Nbd.OPT_STRUCTURED_REPLY:
                if (data.hasRemaining()) {
                    error(option, Nbd.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY takes no data");
                } else {
                    structured = true;
                    reply(option, Nbd.REP_ACK, null);
                }
                return null;
            case Nbd.OPT_LIST_META_CONTEXT:
            case Nbd.OPT_SET_META_CONTEXT:
                metaContext(option, data);
                return null;
            default:
                error(option, Nbd.REP_ERR_UNSUP, "option " + option + " is not supported");
                return null;
            }
        } catch (BufferUnderflowException | Malformed e) {
            error(option, Nbd.REP_ERR_INVALID, "malformed option " + option
                    + (e.getMessage() == null ? "" : ": " + e.getMessage()));
            return null;
        }
    }

    private Outcome exportName(ByteBuffer data) throws IOException {
        String name;
        try {
            name = string(data, data.remaining());
        } catch (Malformed e) {
            throw new Ended("bad export name: " + e.getMessage());
        }
        Export export;
        try {
            export = catalog.open(name, peer);
        } catch (ExportRefusal e) {
            // NBD_OPT_EXPORT_NAME cannot carry an error: the protocol says to close
            throw new Ended("export refused: " + e.getMessage());
        }
        try {
            ByteBuffer b = ByteBuffer.allocate(noZeroes ? 10 : 134);
            b.putLong(export.size()).putShort((short) transmissionFlags(export));
            wire.write(b.position(b.capacity()).flip());
        } catch (IOException e) {
            export.close();
            throw e;
        }
        return new Outcome(wire, peer, export, structured, baseAllocation);
    }

    private void list(ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            error(Nbd.OPT_LIST, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
            return;
        }
        List<String> names = catalog.list(peer);
        if (names == null) {
            error(Nbd.OPT_LIST, Nbd.REP_ERR_POLICY, "export names are secret here: use the URI given at attach time");
            return;
        }
        for (String name : names) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            reply(Nbd.OPT_LIST, Nbd.REP_SERVER, ByteBuffer.allocate(4 + n.length).putInt(n.length).put(n).flip());
        }
        reply(Nbd.OPT_LIST, Nbd.REP_ACK, null);
    }

    private void startTls(ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "NBD_OPT_STARTTLS takes no data");
            return;
        }
        if (peer.tls()) {
            error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_INVALID, "TLS is already running");
            return;
        }
        if (tls == null || !wire.tlsCapable()) {
            error(Nbd.OPT_STARTTLS, Nbd.REP_ERR_POLICY, peer.unix()
                    ? "TLS is not offered on the unix socket" : "TLS is off on this server (lab mode)");
            return;
        }
        reply(Nbd.OPT_STARTTLS, Nbd.REP_ACK, null);
        TlsWire upgraded;
        try {
            upgraded = wire.startTls(tls.newEngine());
        } catch (IOException e) {
            // after the ACK there is no way back to plaintext
            throw new Ended("TLS handshake failed: " + e.getMessage());
        }
        wire = upgraded;
        peer = peer.withTls(upgraded.peerCertificate(), upgraded.cipherSuite());
        // options negotiated before TLS do not carry over
        structured = false;
        baseAllocation = false;
    }

    private Outcome infoOrGo(int option, ByteBuffer data) throws IOException, Malformed {
        int nameLength = data.getInt();
        if (nameLength < 0 || nameLength > data.remaining() - 2) {
            throw new Malformed("export name length " + Integer.toUnsignedString(nameLength) + " exceeds the option");
        }
        String name = string(data, nameLength);
        int requests = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != requests * 2) {
            throw new Malformed(requests + " information requests do not match the option length");
        }
        boolean wantName = false;
        boolean wantDescription = false;
        for (int i = 0; i < requests; i++) {
            int type = Short.toUnsignedInt(data.getShort());
            wantName |= type == Nbd.INFO_NAME;
            wantDescription |= type == Nbd.INFO_DESCRIPTION;
        }
        Export export;
        try {
            export = catalog.open(name, peer);
        } catch (ExportRefusal e) {
            error(option, e.reply(), e.getMessage());
            return null;
        }
        boolean keep = false;
        try {
            ByteBuffer info = ByteBuffer.allocate(12);
            info.putShort((short) Nbd.INFO_EXPORT).putLong(export.size()).putShort((short) transmissionFlags(export));
            reply(option, Nbd.REP_INFO, info.flip());
            // block size constraints go out whether asked or not: clients that ignore them lose nothing
            ByteBuffer sizes = ByteBuffer.allocate(14);
            sizes.putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(limits.minimumBlock()).putInt(limits.preferredBlock())
                    .putInt(limits.maxPayload());
            reply(option, Nbd.REP_INFO, sizes.flip());
            if (wantName) {
                byte[] n = export.name().getBytes(StandardCharsets.UTF_8);
                reply(option, Nbd.REP_INFO, ByteBuffer.allocate(2 + n.length).putShort((short) Nbd.INFO_NAME).put(n).flip());
            }
            if (wantDescription) {
                byte[] d = ("Cairn volume (" + export.size() + " bytes)").getBytes(StandardCharsets.UTF_8);
                reply(option, Nbd.REP_INFO,
                        ByteBuffer.allocate(2 + d.length).putShort((short) Nbd.INFO_DESCRIPTION).put(d).flip());
            }
            reply(option, Nbd.REP_ACK, null);
            if (option == Nbd.OPT_GO) {
                keep = true;
                return new Outcome(wire, peer, export, structured, baseAllocation);
            }
            return null;
        } finally {
            if (!keep) {
                export.close();
            }
        }
    }

    private void metaContext(int option, ByteBuffer data) throws IOException, Malformed {
        if (!structured) {
            error(option, Nbd.REP_ERR_INVALID, "negotiate structured replies before metadata contexts");
            return;
        }
        int nameLength = data.getInt();
        if (nameLength < 0 || nameLength > data.remaining() - 4) {
            throw new Malformed("export name length exceeds the option");
        }
        string(data, nameLength);
        int queries = data.getInt();
        if (queries < 0 || queries > data.remaining() / 4) {
            throw new Malformed("query count exceeds the option");
        }
        boolean selected = false;
        for (int i = 0; i < queries; i++) {
            int length = data.getInt();
            if (length < 0 || length > data.remaining()) {
                throw new Malformed("query length exceeds the option");
            }
            String query = string(data, length);
            boolean listAll = option == Nbd.OPT_LIST_META_CONTEXT && query.equals("base:");
            selected |= query.equals(Nbd.BASE_ALLOCATION) || listAll;
        }
        if (data.hasRemaining()) {
            throw new Malformed("trailing bytes after the queries");
        }
        if (option == Nbd.OPT_LIST_META_CONTEXT && queries == 0) {
            selected = true;
        }
        if (option == Nbd.OPT_SET_META_CONTEXT) {
            // the last SET replaces every earlier selection
            baseAllocation = selected;
        }
        if (selected) {
            byte[] n = Nbd.BASE_ALLOCATION.getBytes(StandardCharsets.US_ASCII);
            int id = option == Nbd.OPT_SET_META_CONTEXT ? Nbd.BASE_ALLOCATION_ID : 0;
            reply(option, Nbd.REP_META_CONTEXT, ByteBuffer.allocate(4 + n.length).putInt(id).put(n).flip());
        }
        reply(option, Nbd.REP_ACK, null);
    }

    int transmissionFlags(Export export) {
        int flags = Nbd.FLAG_HAS_FLAGS | Nbd.FLAG_SEND_FLUSH | Nbd.FLAG_SEND_FUA;
        if (export.readOnly()) {
            flags |= Nbd.FLAG_READ_ONLY;
        } else {
            flags |= Nbd.FLAG_SEND_TRIM | Nbd.FLAG_SEND_WRITE_ZEROES | Nbd.FLAG_SEND_FAST_ZERO;
        }
        if (structured) {
            flags |= Nbd.FLAG_SEND_DF;
        }
        if (export.multiConn()) {
            flags |= Nbd.FLAG_CAN_MULTI_CONN;
        }
        return flags;
    }

    private void error(int option, int type, String message) throws IOException {
        LOG.debug("option {} from {} refused: {}", option, peer.address(), message);
        reply(option, type, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }

    private void reply(int option, int type, ByteBuffer data) throws IOException {
        int length = data == null ? 0 : data.remaining();
        ByteBuffer header = ByteBuffer.allocate(20 + length);
        header.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(type).putInt(length);
        if (data != null) {
            header.put(data);
        }
        wire.write(header.flip());
    }

    private static String string(ByteBuffer data, int length) throws Malformed {
        if (length > MAX_STRING) {
            throw new Malformed("string of " + length + " bytes is longer than 4096");
        }
        if (length > data.remaining()) {
            throw new Malformed("string runs past the option");
        }
        ByteBuffer slice = data.slice(data.position(), length);
        data.position(data.position() + length);
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
            if (s.indexOf('\0') >= 0) {
                throw new Malformed("string contains NUL");
            }
            return s;
        } catch (CharacterCodingException e) {
            throw new Malformed("string is not UTF-8");
        }
    }

    /** A well-framed option whose content does not parse. */
    static final class Malformed extends Exception {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

}
