package dev.ferry.mesh.kube;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A loopback TCP forwarder the test can cut: while shut, every connection through it is closed and new ones are
 * closed on accept, so the client behind it sees the API server vanish (a partition) while others reach it directly;
 * while frozen, connections stay open and carry nothing (a path gone dead without a reset).
 */
final class TcpGate implements AutoCloseable {
    private final ServerSocket server;
    private final int targetPort;
    private final Set<Socket> live = ConcurrentHashMap.newKeySet();
    private volatile boolean open;
    private volatile boolean frozen;
    private final Thread acceptor;

    TcpGate(int targetPort, boolean open) throws IOException {
        this.targetPort = targetPort;
        this.open = open;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        this.acceptor = Thread.ofPlatform().daemon().name("tcp-gate").start(this::accept);
    }

    int port() {
        return server.getLocalPort();
    }

    String url() {
        return "https://127.0.0.1:" + port();
    }

    void open() {
        open = true;
    }

    /** A black hole: connections stay open, but nothing they carry gets through until {@link #thaw()}. */
    void freeze() {
        frozen = true;
    }

    void thaw() {
        frozen = false;
    }

    /** Cuts every connection through the gate and refuses new ones until {@link #open()}. */
    void shut() {
        open = false;
        for (Socket s : live) {
            closeQuietly(s);
        }
        live.clear();
    }

    private void accept() {
        while (!server.isClosed()) {
            Socket down;
            try {
                down = server.accept();
            } catch (IOException e) {
                return;
            }
            if (!open) {
                closeQuietly(down);
                continue;
            }
            try {
                Socket up = new Socket();
                up.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 5_000);
                live.add(down);
                live.add(up);
                pump(down, up);
                pump(up, down);
            } catch (IOException e) {
                closeQuietly(down);
            }
        }
    }

    private void pump(Socket from, Socket to) {
        Thread.ofPlatform().daemon().name("tcp-gate-pump").start(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream();
                    OutputStream out = to.getOutputStream()) {
                for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                    if (!frozen) {
                        out.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // cut, or closed by either side
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                live.remove(from);
                live.remove(to);
            }
        });
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        shut();
        server.close();
        try {
            acceptor.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
