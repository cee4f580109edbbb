package cairn.nbd.internal;

import java.io.FileDescriptor;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.channels.SocketChannel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receive low-water mark of a TCP socket (Linux SO_RCVLOWAT): the socket reports
 * itself readable, and the kernel wakes a waiting reader, only once that many bytes are
 * queued (or the stream ends). While a large WRITE payload streams in, the
 * connection's thread decrypts faster than a client encrypts; at the default mark of one
 * byte it fell asleep and was woken for nearly every segment (eight times per MiB), and on
 * a machine the client shares each of those wakeups cost the client's core more than the
 * server saved. With the mark raised to the payload bytes still owed, the thread wakes a
 * few times per payload.
 *
 * <p>Safe because the mark is only ever raised to bytes the client must send without
 * waiting for an answer (the rest of a request it has begun), counted afresh before every
 * wait, and the socket never waits inside a receive while the mark is up (see
 * {@code Socket.require}); Linux also wakes a reader early when its receive window is
 * nearly closed.
 *
 * <p>Java 17 has no public API for this option: it goes through the JDK's own socket
 * option call, which needs {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED} (bin/cairn
 * passes it). Where that access is missing, {@link #of} returns a mark that does nothing.
 */
abstract class LowWater {

    private static final Logger LOG = LoggerFactory.getLogger(LowWater.class);
    /** Linux: SOL_SOCKET, SO_RCVLOWAT. */
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVLOWAT = 18;
    /** Highest mark set: a few records of reading at once is enough to end the per-segment wakeups. */
    static final int MAX = 256 * 1024;

    static final LowWater NONE = new LowWater() {
        @Override
        void require(int bytes) {
            // no access to the option: reads wake at every segment, as by default
        }
    };

    private static final Access ACCESS = Access.find();

    /** Makes the next blocking read wait for {@code bytes} (clamped to 1..{@link #MAX}). */
    abstract void require(int bytes) throws IOException;

    /**
     * The mark of {@code channel}'s socket (TCP, in blocking mode: the mark switches its
     * descriptor between blocking and not), or one that does nothing where the option cannot be set.
     */
    static LowWater of(SocketChannel channel) {
        if (ACCESS == null) {
            return NONE;
        }
        try {
            FileDescriptor fd = (FileDescriptor) ACCESS.getFd.invoke(channel);
            return new Socket(fd);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return NONE;
        }
    }

    static boolean available() {
        return ACCESS != null;
    }

    private static final class Socket extends LowWater {
        private final FileDescriptor fd;
        private int current = 1;

        Socket(FileDescriptor fd) {
            this.fd = fd;
        }

        @Override
        void require(int bytes) throws IOException {
            int mark = Math.max(1, Math.min(bytes, MAX));
            if (mark == current) {
                return;
            }
            // Above one byte the descriptor must not block in the kernel: a blocking receive
            // copies what is queued and then waits for a whole mark of *new* bytes, more than
            // the client may still owe (measured: such a read never returned). Non-blocking,
            // the channel's own blocking loop polls, and poll counts only what is queued now.
            if (current == 1) {
                invoke(ACCESS.configureBlocking, fd, false);
            }
            invoke(ACCESS.setInt, fd, false, SOL_SOCKET, SO_RCVLOWAT, mark, false);
            if (mark == 1) {
                invoke(ACCESS.configureBlocking, fd, true);
            }
            current = mark;
        }

        private static void invoke(Method m, Object... args) throws IOException {
            try {
                m.invoke(null, args);
            } catch (InvocationTargetException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                throw new IOException(m.getName() + " failed", e.getCause());
            } catch (IllegalAccessException e) {
                throw new IOException(m.getName() + " failed", e);
            }
        }
    }

    /** The JDK's internal calls: the channel's descriptor, the raw int socket option, the descriptor's blocking mode. */
    private record Access(Method getFd, Method setInt, Method configureBlocking) {
        static Access find() {
            if (!System.getProperty("os.name", "").startsWith("Linux")) {
                return null;
            }
            try {
                Class<?> impl = Class.forName("sun.nio.ch.SocketChannelImpl", false, null);
                Method getFd = impl.getDeclaredMethod("getFD");
                getFd.setAccessible(true);
                Class<?> net = Class.forName("sun.nio.ch.Net", false, null);
                Method setInt = net.getDeclaredMethod("setIntOption0", FileDescriptor.class, boolean.class, int.class,
                        int.class, int.class, boolean.class);
                setInt.setAccessible(true);
                Method configureBlocking = Class.forName("sun.nio.ch.IOUtil", false, null)
                        .getDeclaredMethod("configureBlocking", FileDescriptor.class, boolean.class);
                configureBlocking.setAccessible(true);
                return new Access(getFd, setInt, configureBlocking);
            } catch (ReflectiveOperationException | RuntimeException e) {
                LOG.info("SO_RCVLOWAT is not settable here ({}): large NBD writes wake the reader per segment",
                        e.toString());
                return null;
            }
        }
    }
}
