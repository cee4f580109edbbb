package cairn.nbd.internal;

import static org.junit.Assert.assertEquals;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** A byte-level NBD client for the tests: speaks exactly what the test says, right or wrong. */
final class RawClient implements AutoCloseable {

    /** The TCP socket; null on a unix socket. */
    final Socket socket;
    private final java.io.Closeable connection;
    private final InputStream raw;
    final DataInputStream in;
    final DataOutputStream out;

    RawClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        connection = socket;
        socket.setSoTimeout(10_000);
        raw = socket.getInputStream();
        in = new DataInputStream(raw);
        socket.setTcpNoDelay(true);
        out = new DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream(), 1 << 16));
    }

    /** Over the unix socket at {@code path} (reads block without a timeout there). */
    RawClient(java.nio.file.Path path) throws IOException {
        java.nio.channels.SocketChannel channel = java.nio.channels.SocketChannel.open(
                java.net.UnixDomainSocketAddress.of(path));
        socket = null;
        connection = channel;
        raw = java.nio.channels.Channels.newInputStream(channel);
        in = new DataInputStream(raw);
        out = new DataOutputStream(new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(channel),
                1 << 16));
    }

    /** Reads the server greeting and answers with these client flags. */
    RawClient hello(int clientFlags) throws IOException {
        assertEquals(Nbd.NBDMAGIC, in.readLong());
        assertEquals(Nbd.IHAVEOPT, in.readLong());
        assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, in.readUnsignedShort());
        out.writeInt(clientFlags);
        out.flush();
        return this;
    }

    RawClient hello() throws IOException {
        return hello(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES);
    }

    void option(int option, byte[] data) throws IOException {
        out.writeLong(Nbd.IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    record OptionReply(int option, int type, byte[] data) {
        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    OptionReply optionReply() throws IOException {
        assertEquals(Nbd.OPTION_REPLY_MAGIC, in.readLong());
        int option = in.readInt();
        int type = in.readInt();
        byte[] data = new byte[in.readInt()];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    static byte[] goData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    static byte[] metaData(String name, String... queries) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        int len = 4 + n.length + 4;
        for (String q : queries) {
            len += 4 + q.length();
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(len);
        b.putInt(n.length).put(n).putInt(queries.length);
        for (String q : queries) {
            b.putInt(q.length()).put(q.getBytes(StandardCharsets.UTF_8));
        }
        return b.array();
    }

    /** NBD_OPT_GO to the named export; returns size and transmission flags. */
    long[] go(String name) throws IOException {
        option(Nbd.OPT_GO, goData(name, Nbd.INFO_BLOCK_SIZE));
        long size = -1;
        long flags = -1;
        while (true) {
            OptionReply r = optionReply();
            if (r.type() == Nbd.REP_ACK) {
                return new long[] { size, flags };
            }
            assertEquals("GO reply " + Integer.toHexString(r.type()) + " " + r.text(), Nbd.REP_INFO, r.type());
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(r.data());
            if (b.getShort() == Nbd.INFO_EXPORT) {
                size = b.getLong();
                flags = b.getShort() & 0xffff;
            }
        }
    }

    void request(int flags, int type, long handle, long offset, long length) throws IOException {
        out.writeInt(Nbd.REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt((int) length);
    }

    /** A simple reply: returns the error, checks the handle. */
    int simpleReply(long handle) throws IOException {
        assertEquals(Nbd.SIMPLE_REPLY_MAGIC, in.readInt());
        int error = in.readInt();
        assertEquals(handle, in.readLong());
        return error;
    }

    record Chunk(int flags, int type, long handle, byte[] payload) {
        int error() {
            return java.nio.ByteBuffer.wrap(payload).getInt();
        }
    }

    /** Any reply header: simple replies come back as a chunk of type -1 with the error as payload. */
    Chunk anyReply() throws IOException {
        int magic = in.readInt();
        if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
            int error = in.readInt();
            long handle = in.readLong();
            return new Chunk(Nbd.REPLY_FLAG_DONE, -1, handle, java.nio.ByteBuffer.allocate(4).putInt(error).array());
        }
        assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, magic);
        int flags = in.readUnsignedShort();
        int type = in.readUnsignedShort();
        long handle = in.readLong();
        byte[] payload = new byte[in.readInt()];
        in.readFully(payload);
        return new Chunk(flags, type, handle, payload);
    }

    /** True when the server closed the connection (end of stream or reset), within the socket timeout. */
    boolean closedByServer() throws IOException {
        try {
            while (true) {
                if (raw.read() < 0) {
                    return true;
                }
            }
        } catch (EOFException e) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // connection reset
        }
    }

    @Override
    public void close() throws IOException {
        connection.close();
    }
}
