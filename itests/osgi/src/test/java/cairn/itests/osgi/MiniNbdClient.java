package cairn.itests.osgi;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Just enough of an NBD client to hold a connection open while a test changes the world
 * around it (fencing, an engine restart, a server stop): plaintext, NBD_OPT_GO, simple replies.
 */
final class MiniNbdClient implements AutoCloseable {

    static final int READ = 0;
    static final int WRITE = 1;

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    long size;

    MiniNbdClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(60_000);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = new DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream()));
        if (in.readLong() != 0x4e42444d41474943L || in.readLong() != 0x49484156454F5054L) {
            throw new IOException("not an NBD server");
        }
        in.readUnsignedShort();
        out.writeInt(3); // fixed newstyle, no zeroes
        out.flush();
    }

    /** NBD_OPT_GO: returns 1 (NBD_REP_ACK) when the export opened, else the error reply type. */
    int go(String export) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        out.writeLong(0x49484156454F5054L);
        out.writeInt(7);
        out.writeInt(4 + name.length + 2);
        out.writeInt(name.length);
        out.write(name);
        out.writeShort(0);
        out.flush();
        while (true) {
            in.readLong();
            in.readInt();
            int type = in.readInt();
            byte[] data = new byte[in.readInt()];
            in.readFully(data);
            if (type == 3 && data.length >= 12 && data[0] == 0 && data[1] == 0) {
                size = java.nio.ByteBuffer.wrap(data, 2, 8).getLong();
            } else if (type != 3) {
                return type;
            }
        }
    }

    void send(int type, long handle, long offset, byte[] payload, int length) throws IOException {
        out.writeInt(0x25609513);
        out.writeShort(0);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt(length);
        if (payload != null) {
            out.write(payload);
        }
        out.flush();
    }

    /** Reads one simple reply for a request with {@code length} bytes of read data; returns the error. */
    int reply(long handle, byte[] into) throws IOException {
        if (in.readInt() != 0x67446698) {
            throw new IOException("unexpected reply magic");
        }
        int error = in.readInt();
        long h = in.readLong();
        if (h != handle) {
            throw new IOException("reply for handle " + h + ", expected " + handle);
        }
        if (error == 0 && into != null) {
            in.readFully(into);
        }
        return error;
    }

    /** True once the server has closed the connection. */
    boolean closedByServer() {
        try {
            return in.read() < 0;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
