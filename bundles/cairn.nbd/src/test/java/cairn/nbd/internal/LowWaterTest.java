package cairn.nbd.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The receive low-water mark on a real loopback TCP connection. Readiness is checked with a
 * selector once the kernel reports the bytes queued (FIONREAD, through available()), so
 * each assertion looks at the socket's state, not at timing.
 */
public class LowWaterTest {

    private ServerSocketChannel listener;
    private SocketChannel client;
    private SocketChannel server;

    @Before
    public void connect() throws IOException {
        // the surefire configuration opens sun.nio.ch, as bin/cairn does
        assertTrue("SO_RCVLOWAT must be settable in this JVM", LowWater.available());
        listener = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        client = SocketChannel.open(listener.getLocalAddress());
        server = listener.accept();
    }

    @After
    public void close() throws IOException {
        for (var c : new java.nio.channels.Channel[] { client, server, listener }) {
            if (c != null) {
                c.close();
            }
        }
    }

    @Test
    public void readerIsNotWokenBeforeTheMark() throws IOException {
        LowWater mark = LowWater.of(server);
        mark.require(4096);
        send(1000);
        awaitQueued(1000);
        server.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            server.register(selector, SelectionKey.OP_READ);
            assertEquals("1000 bytes queued under a mark of 4096: not readable", 0, selector.selectNow());
            send(3096);
            assertEquals("the mark reached: readable", 1, selector.select(10_000));
            selector.selectedKeys().clear();
            // back to the default: what is queued is readable at once
            ByteBuffer some = ByteBuffer.allocate(100);
            assertEquals(100, server.read(some));
            mark.require(1);
            assertEquals(1, selector.selectNow());
        }
    }

    @Test
    public void marksAreClampedToOneByteAtLeast() throws IOException {
        LowWater mark = LowWater.of(server);
        mark.require(0);
        mark.require(-5);
        send(1);
        awaitQueued(1);
        server.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            server.register(selector, SelectionKey.OP_READ);
            assertEquals(1, selector.selectNow());
        }
    }

    /** A payload that trickles in over many small writes still ends up whole in the buffer. */
    @Test
    public void readFullyWithTheMarkGetsEveryByteOfATricklingPayload() throws Exception {
        ChannelWire wire = new ChannelWire(server, true, false);
        byte[] payload = new byte[700_000];
        new Random(7).nextBytes(payload);
        CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
            try {
                for (int at = 0; at < payload.length; at += 3000) {
                    client.write(ByteBuffer.wrap(payload, at, Math.min(3000, payload.length - at)));
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        ByteBuffer into = ByteBuffer.allocateDirect(payload.length);
        wire.readFully(into);
        sender.get(30, TimeUnit.SECONDS);
        byte[] got = new byte[payload.length];
        into.flip().get(got);
        assertArrayEquals(payload, got);
        // a later short read is not held back by the mark the payload raised
        send(10);
        ByteBuffer small = ByteBuffer.allocate(64);
        assertEquals(10, readWithin(wire, small));
    }

    /**
     * Part of a payload is queued before the read begins, the rest comes after. A blocking
     * receive with the mark set would copy the queued part and then wait for a full mark of
     * new bytes that never comes (the client owes less): the read must still complete.
     */
    @Test
    public void aPayloadPartlyQueuedBeforeTheReadStillCompletes() throws Exception {
        ChannelWire wire = new ChannelWire(server, true, false);
        byte[] payload = new byte[100_000];
        new Random(11).nextBytes(payload);
        client.write(ByteBuffer.wrap(payload, 0, 10_000));
        awaitQueued(10_000);
        ByteBuffer into = ByteBuffer.allocateDirect(payload.length);
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try {
                wire.readFully(into);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        // the reader has taken the queued part (or is about to): then the rest arrives
        await().atMost(Duration.ofSeconds(10)).until(() -> queued() == 0);
        ByteBuffer rest = ByteBuffer.wrap(payload, 10_000, payload.length - 10_000);
        while (rest.hasRemaining()) {
            client.write(rest);
        }
        reader.get(30, TimeUnit.SECONDS);
        byte[] got = new byte[payload.length];
        into.flip().get(got);
        assertArrayEquals(payload, got);
    }

    private int readWithin(ChannelWire wire, ByteBuffer dst) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return wire.read(dst);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        }).get(30, TimeUnit.SECONDS);
    }

    private void send(int bytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(bytes);
        while (b.hasRemaining()) {
            client.write(b);
        }
    }

    private void awaitQueued(int bytes) {
        await().atMost(Duration.ofSeconds(10)).until(() -> queued() >= bytes);
    }

    /**
     * Bytes in the server socket's receive queue, as the kernel reports them in
     * /proc/net/tcp (tcp6: Java's sockets are dual-stack): read without touching the socket,
     * so also while a read is blocked in it.
     */
    private long queued() throws IOException {
        String localPort = String.format(":%04X", ((InetSocketAddress) server.getLocalAddress()).getPort());
        String remotePort = String.format(":%04X", ((InetSocketAddress) server.getRemoteAddress()).getPort());
        for (String table : new String[] { "/proc/net/tcp", "/proc/net/tcp6" }) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 4 && f[1].endsWith(localPort) && f[2].endsWith(remotePort)) {
                    return Long.parseLong(f[4].substring(f[4].indexOf(':') + 1), 16);
                }
            }
        }
        throw new IOException("no /proc/net/tcp entry for ports " + localPort + " and " + remotePort);
    }
}
