package dev.ferry.agent.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.observability.Metrics;
import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.EchoServer;
import dev.ferry.agent.support.ManualTimers;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.agent.support.PromText;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The relay on loopback with a real upstream and real sockets, on both production transports. The original
 * destination is supplied by the test (nothing is redirected on loopback).
 */
class RelayLoopbackTest {
    static final String VIP = "10.96.0.10";
    static final String POD_IP = "127.0.0.2";

    @TempDir
    Path dir;

    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
    }

    private <T extends AutoCloseable> T track(T c) {
        closeables.add(c);
        return c;
    }

    private AgentFixture agentWithEcho(String transport, Map<String, String> overrides) throws Exception {
        return agentWithEcho(transport, overrides, null);
    }

    private AgentFixture agentWithEcho(String transport, Map<String, String> overrides, ManualTimers clock)
            throws Exception {
        EchoServer echo = track(new EchoServer(InetAddress.getByName(POD_IP)));
        Path mesh = new MeshFiles()
                .pod("echo-1", POD_IP, "node-1", "echo", echo.port())
                .service("echo", VIP, 80, "echo", "echo")
                .write(dir);
        AgentFixture f = track(new AgentFixture(transport, mesh, overrides, clock));
        f.originalDestination.set(new InetSocketAddress(InetAddress.getByName(VIP), 80));
        return f;
    }

    private static ManualTimers manualClock() {
        return new ManualTimers(new dev.ferry.time.ManualTicker(java.time.Instant.parse("2026-12-01T00:00:00Z")));
    }

    /** An agent whose Service {@code app} at VIP:80 routes to one pod at POD_IP:{@code port}. */
    private AgentFixture agentFor(String transport, String app, int port, Map<String, String> overrides)
            throws Exception {
        return agentFor(transport, app, port, overrides, null);
    }

    private AgentFixture agentFor(
            String transport, String app, int port, Map<String, String> overrides, ManualTimers clock)
            throws Exception {
        Path mesh = new MeshFiles()
                .pod(app + "-1", POD_IP, "node-1", app, port)
                .service(app, VIP, 80, app, Integer.toString(port))
                .write(dir);
        AgentFixture f = track(new AgentFixture(transport, mesh, overrides, clock));
        f.originalDestination.set(new InetSocketAddress(InetAddress.getByName(VIP), 80));
        return f;
    }

    private static Socket connect(InetSocketAddress a) throws IOException {
        Socket s = new Socket();
        s.connect(a, 5000);
        s.setSoTimeout(20_000);
        return s;
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void bytesArriveIntactFromOneKilobyteToOneHundredMegabytes(String transport) throws Exception {
        AgentFixture f = agentWithEcho(transport, Map.of());
        assertThat(f.agent.transport().label()).isEqualTo(transport.replace("+splice", ""));
        for (int size : new int[] {1024, 64 * 1024 + 7, 1 << 20, 100 << 20}) {
            try (Socket s = connect(f.agent.outboundAddress())) {
                byte[] sentDigest;
                MessageDigest in = MessageDigest.getInstance("SHA-256");
                Future<byte[]> writer;
                try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                    writer = ex.submit(() -> {
                        MessageDigest out = MessageDigest.getInstance("SHA-256");
                        Random r = new Random(size);
                        byte[] chunk = new byte[256 * 1024];
                        OutputStream os = s.getOutputStream();
                        for (int left = size; left > 0; ) {
                            int n = Math.min(left, chunk.length);
                            r.nextBytes(chunk);
                            os.write(chunk, 0, n);
                            out.update(chunk, 0, n);
                            left -= n;
                        }
                        s.shutdownOutput(); // half-close: the echo must still come back in full
                        return out.digest();
                    });
                    long got = 0;
                    byte[] buf = new byte[256 * 1024];
                    InputStream is = s.getInputStream();
                    int n;
                    while ((n = is.read(buf)) >= 0) {
                        in.update(buf, 0, n);
                        got += n;
                    }
                    sentDigest = writer.get(60, TimeUnit.SECONDS);
                    assertThat(got).as("bytes echoed for size %d", size).isEqualTo(size);
                }
                assertThat(in.digest()).isEqualTo(sentDigest);
            }
        }
        waitFor(() -> f.agent.registry().size() == 0, "all connections closed");
        String metrics = f.scrape();
        Map<String, String> labels = Map.of(
                "destination_service", "echo.test.svc.cluster.local",
                "destination_workload", "echo",
                "reporter", "source",
                "response_flags", "-");
        assertThat(PromText.sum(metrics, "istio_tcp_connections_closed_total", labels))
                .isEqualTo(4);
        long total = 1024 + 64 * 1024 + 7 + (1 << 20) + (100 << 20);
        assertThat(PromText.sum(metrics, "istio_tcp_received_bytes_total", labels))
                .isEqualTo(total);
        assertThat(PromText.sum(metrics, "istio_tcp_sent_bytes_total", labels)).isEqualTo(total);
    }

    /**
     * Least-request at L4 counts open connections: a held connection steers the next one to the other endpoint, and
     * once it closes its endpoint is the less loaded again. Without the release at the client's close, both would
     * count one and the third connection would land at random (a tie goes to the first drawn).
     */
    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll"})
    void leastRequestCountsOpenConnectionsUntilTheyClose(String transport) throws Exception {
        EchoServer one = track(new EchoServer(InetAddress.getByName(POD_IP)));
        EchoServer two = track(new EchoServer(InetAddress.getByName("127.0.0.3")));
        Path mesh = new MeshFiles()
                .pod("echo-1", POD_IP, "node-1", "echo", one.port())
                .pod("echo-2", "127.0.0.3", "node-1", "echo", two.port())
                .service("echo", VIP, 80, "echo", "echo")
                .raw("""
                        apiVersion: networking.istio.io/v1
                        kind: DestinationRule
                        metadata: {name: echo, namespace: test}
                        spec:
                          host: echo.test.svc.cluster.local
                          trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
                        """)
                .write(dir);
        AgentFixture f = track(new AgentFixture(transport, mesh, Map.of()));
        f.originalDestination.set(new InetSocketAddress(InetAddress.getByName(VIP), 80));
        for (int round = 0; round < 8; round++) {
            int before1 = one.accepted();
            int before2 = two.accepted();
            try (Socket held = echoed(f)) {
                EchoServer heldOn = one.accepted() > before1 ? one : two;
                EchoServer other = heldOn == one ? two : one;
                int otherBefore = other.accepted();
                try (Socket next = echoed(f)) {
                    assertThat(other.accepted())
                            .as("round %d: second connection", round)
                            .isEqualTo(otherBefore + 1);
                    held.close();
                    waitFor(() -> f.agent.registry().size() == 1, "held connection closed");
                    int heldBefore = heldOn.accepted();
                    try (Socket third = echoed(f)) {
                        assertThat(heldOn.accepted())
                                .as("round %d: third connection, after the first closed", round)
                                .isEqualTo(heldBefore + 1);
                    }
                }
            }
            waitFor(() -> f.agent.registry().size() == 0, "connections closed");
            assertThat(one.accepted() + two.accepted()).isEqualTo(before1 + before2 + 3);
        }
    }

    /** A connection through the agent that has carried one echoed byte (so its upstream is open). */
    private static Socket echoed(AgentFixture f) throws IOException {
        Socket s = connect(f.agent.outboundAddress());
        s.getOutputStream().write('x');
        assertThat(s.getInputStream().read()).isEqualTo('x');
        return s;
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void halfCloseKeepsTheOtherDirectionOpen(String transport) throws Exception {
        // Upstream that answers only after the client's FIN: a request/response over a half-closed connection.
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName(POD_IP))) {
            AgentFixture f = agentFor(transport, "late", server.getLocalPort(), Map.of());
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                Future<String> upstream = ex.submit(() -> {
                    try (Socket s = server.accept()) {
                        byte[] all = s.getInputStream().readAllBytes(); // returns at the client's FIN
                        Thread.sleep(200); // the client's direction is closed; ours must still be open
                        s.getOutputStream().write(("got " + all.length).getBytes());
                        s.shutdownOutput();
                        return new String(all);
                    }
                });
                try (Socket c = connect(f.agent.outboundAddress())) {
                    c.getOutputStream().write("hello".getBytes());
                    c.shutdownOutput();
                    assertThat(new String(c.getInputStream().readAllBytes())).isEqualTo("got 5");
                }
                assertThat(upstream.get(10, TimeUnit.SECONDS)).isEqualTo("hello");
            }
            waitFor(() -> f.agent.registry().size() == 0, "connection closed");
            assertThat(PromText.sum(f.scrape(), "ferry_connections_closed_total", Map.of("reason", "normal")))
                    .isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void serverThatClosesFirstEndsEveryConnectionNormally(String transport) throws Exception {
        // The short-connection shape (HTTP with Connection: close): the upstream answers and closes at once, the
        // client reads to the end and closes. The relay ends its client side's output itself and takes the client's
        // close that follows as its end of stream: every one must count as normal, none as an abort.
        int n = 200;
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName(POD_IP))) {
            ManualTimers clock = manualClock();
            AgentFixture f = agentFor(transport, "short", server.getLocalPort(), Map.of(), clock);
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                Future<Integer> upstream = ex.submit(() -> {
                    for (int i = 0; i < n; i++) {
                        try (Socket s = server.accept()) {
                            s.getInputStream().readNBytes(4);
                            s.getOutputStream().write("pong".getBytes());
                        } // closed first, right behind the answer
                    }
                    return n;
                });
                for (int i = 0; i < n; i++) {
                    try (Socket c = connect(f.agent.outboundAddress())) {
                        c.getOutputStream().write("ping".getBytes());
                        assertThat(new String(c.getInputStream().readAllBytes()))
                                .isEqualTo("pong");
                    }
                }
                assertThat(upstream.get(20, TimeUnit.SECONDS)).isEqualTo(n);
            }
            waitFor(() -> f.agent.registry().size() == 0, "connections closed");
            String metrics = f.scrape();
            assertThat(PromText.sum(metrics, "ferry_connections_closed_total", Map.of("reason", "normal")))
                    .isEqualTo(n);
            assertThat(PromText.sum(metrics, "ferry_connections_closed_total", Map.of()))
                    .as("no other reason")
                    .isEqualTo(n);
            // Both sides of a short connection may close at once: no idle or linger timer may outlive it (each
            // left behind would hold its session for the half-close timeout, thousands a second under churn).
            waitFor(() -> clock.pending() == 0, "every connection's timers cancelled");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void halfClosedConnectionIsNotKeptForeverWhenTheOtherSideNeverFinishes(String transport) throws Exception {
        // The upstream reads the client's FIN but never closes its side: without a linger bound this would sit
        // in CLOSE_WAIT forever.
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName(POD_IP))) {
            ManualTimers clock = manualClock();
            AgentFixture f = agentFor(transport, "mute", server.getLocalPort(), Map.of(), clock);
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                java.util.concurrent.CountDownLatch finSeen = new java.util.concurrent.CountDownLatch(1);
                java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
                Future<Integer> upstream = ex.submit(() -> {
                    try (Socket s = server.accept()) {
                        int n = s.getInputStream().readAllBytes().length; // returns at the relayed FIN
                        finSeen.countDown();
                        done.await(20, TimeUnit.SECONDS); // and never answers nor closes its side
                        return n;
                    }
                });
                try (Socket c = connect(f.agent.outboundAddress())) {
                    c.getOutputStream().write("bye".getBytes());
                    c.shutdownOutput();
                    assertThat(finSeen.await(10, TimeUnit.SECONDS)).isTrue();
                    c.setSoTimeout(300);
                    assertThatThrownBy(() -> c.getInputStream().read())
                            .as("held open while the other side may still finish")
                            .isInstanceOf(java.net.SocketTimeoutException.class);
                    c.setSoTimeout(10_000);
                    clock.advance(Duration.ofSeconds(30)); // the default halfCloseTimeout
                    assertThat(readOrReset(c)).isEqualTo(-1);
                } finally {
                    done.countDown();
                }
                waitFor(() -> f.agent.registry().size() == 0, "connection closed");
                assertThat(PromText.sum(
                                scrape(f), "ferry_connections_closed_total", Map.of("reason", "half_close_timeout")))
                        .isEqualTo(1);
                assertThat(upstream.get(10, TimeUnit.SECONDS)).isEqualTo(3);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void idleConnectionIsClosedAndCounted(String transport) throws Exception {
        // The default hour, on a manual clock the timers share with the connection: no waiting in real time.
        ManualTimers clock = manualClock();
        AgentFixture f = agentWithEcho(transport, Map.of(), clock);
        try (Socket s = connect(f.agent.outboundAddress())) {
            s.getOutputStream().write(1);
            assertThat(s.getInputStream().read()).isEqualTo(1);
            clock.advance(Duration.ofMinutes(59));
            s.getOutputStream().write(2);
            assertThat(s.getInputStream().read()).as("not idle for an hour yet").isEqualTo(2);
            // splice learns of bytes by sampling the kernel's counters each (real) second: let it see these at 59 min
            waitFor(
                    () -> f.agent.registry().records().stream()
                            .anyMatch(r -> r.bytesReceived() == 2 && r.bytesSent() == 2),
                    "the second byte counted both ways");
            clock.advance(Duration.ofMinutes(59)); // an hour since the start, but only 59 min since the last byte
            s.setSoTimeout(300);
            assertThatThrownBy(() -> s.getInputStream().read()).isInstanceOf(java.net.SocketTimeoutException.class);
            s.setSoTimeout(10_000);
            clock.advance(Duration.ofMinutes(2));
            clock.advance(Duration.ofSeconds(1)); // the re-armed check, due now
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        waitFor(() -> f.agent.registry().size() == 0, "connection closed");
        assertThat(PromText.sum(f.scrape(), "istio_tcp_connections_closed_total", Map.of("response_flags", "SI")))
                .isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void relayedUpstreamGetsTcpKeepaliveAtTheFirstIdleCheck(String transport) throws Exception {
        // Set at the connection's first idle check (firstByteTimeout, 60 s), not at connect: connections that end
        // sooner never pay its two setsockopt calls. Read from the kernel: ss shows the armed keepalive timer.
        ManualTimers clock = manualClock();
        EchoServer echo = track(new EchoServer(InetAddress.getByName(POD_IP)));
        AgentFixture f = agentFor(transport, "echo", echo.port(), Map.of(), clock);
        String upstream = POD_IP + ":" + echo.port();
        try (Socket s = connect(f.agent.outboundAddress())) {
            s.getOutputStream().write(1);
            assertThat(s.getInputStream().read()).isEqualTo(1);
            String before = socketTimers(upstream);
            assertThat(before) // the address may be IPv4-mapped ([::ffff:127.0.0.2]:port on a dual-stack socket)
                    .as("the agent's upstream socket")
                    .contains(POD_IP)
                    .contains(":" + echo.port())
                    .doesNotContain("keepalive");
            clock.advance(Duration.ofSeconds(60));
            waitFor(() -> socketTimers(upstream).contains("keepalive"), "keepalive armed on the upstream socket");
            s.getOutputStream().write(2);
            assertThat(s.getInputStream().read())
                    .as("the connection still relays")
                    .isEqualTo(2);
        }
        waitFor(() -> f.agent.registry().size() == 0, "connection closed");
    }

    /** {@code ss -tno} of the established sockets connected to {@code peer}, with their timers. */
    private static String socketTimers(String peer) {
        try {
            return dev.ferry.agent.support.Netns.run("ss", "-tnoH", "state", "established", "dst", peer);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void upstreamRefusedClosesTheClientPromptlyWithUf(String transport) throws Exception {
        int deadPort;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName(POD_IP))) {
            deadPort = probe.getLocalPort(); // closed again: nothing listens there
        }
        AgentFixture f = agentFor(transport, "dead", deadPort, Map.of());
        try (Socket s = connect(f.agent.outboundAddress())) {
            assertThat(readOrReset(s)).isEqualTo(-1);
        }
        waitFor(() -> f.agent.registry().size() == 0, "connection closed");
        String metrics = f.scrape();
        assertThat(PromText.sum(metrics, "istio_tcp_connections_closed_total", Map.of("response_flags", "UF")))
                .isEqualTo(1);
        assertThat(PromText.sum(metrics, "ferry_connections_closed_total", Map.of("reason", "connect_refused")))
                .isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void upstreamHangingOnConnectTimesOut(String transport) throws Exception {
        // A listener whose accept queue is full drops further SYNs, so a connect to it hangs like a black hole.
        try (ServerSocket full = new ServerSocket(0, 1, InetAddress.getByName(POD_IP))) {
            List<Socket> fillers = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    Socket s = new Socket();
                    try {
                        s.connect(full.getLocalSocketAddress(), 300);
                        fillers.add(s);
                    } catch (SocketTimeoutException e) {
                        s.close();
                        break;
                    }
                }
                AgentFixture f =
                        agentFor(transport, "hang", full.getLocalPort(), Map.of("FERRY_CONNECT_TIMEOUT", "500ms"));
                long start = System.nanoTime();
                try (Socket s = connect(f.agent.outboundAddress())) {
                    assertThat(readOrReset(s)).isEqualTo(-1);
                }
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(400)).isLessThan(Duration.ofSeconds(5));
                waitFor(() -> f.agent.registry().size() == 0, "connection closed");
                assertThat(PromText.sum(
                                f.scrape(), "ferry_connections_closed_total", Map.of("reason", "connect_timeout")))
                        .isEqualTo(1);
            } finally {
                for (Socket s : fillers) {
                    s.close();
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void clientThatNeverReadsKeepsAgentMemoryBounded(String transport) throws Exception {
        // Upstream pushes as fast as it can; the client never reads. Back-pressure must stop the agent reading.
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getByName(POD_IP))) {
            AgentFixture f = agentFor(transport, "fire", server.getLocalPort(), Map.of());
            long directBefore = Metrics.bufferAllocator().usedDirectMemory();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
                    Socket c = connect(f.agent.outboundAddress())) {
                c.setReceiveBufferSize(64 * 1024);
                Future<Long> pushed = ex.submit(() -> {
                    long n = 0;
                    try (Socket s = server.accept()) {
                        s.setSoTimeout(1000);
                        byte[] chunk = new byte[64 * 1024];
                        OutputStream os = s.getOutputStream();
                        long deadline =
                                System.nanoTime() + Duration.ofSeconds(3).toNanos();
                        while (System.nanoTime() < deadline && n < (512L << 20)) {
                            os.write(chunk); // blocks once every buffer on the path is full
                            n += chunk.length;
                        }
                    } catch (SocketException e) {
                        // closed by cleanup while blocked in write
                    }
                    return n;
                });
                Thread.sleep(3500);
                ConnectionRecord r = f.agent.registry().records().getFirst();
                long relayed = r.bytesSent();
                long direct = Metrics.bufferAllocator().usedDirectMemory() - directBefore;
                // kernel buffers on both hops hold a few MiB; the agent itself may hold ~one high-water mark
                assertThat(relayed).isLessThan(48L << 20);
                assertThat(direct).isLessThan(16L << 20);
                c.close();
                pushed.get(10, TimeUnit.SECONDS);
            }
            waitFor(() -> f.agent.registry().size() == 0, "connection closed");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void thousandConcurrentConnections(String transport) throws Exception {
        AgentFixture f = agentWithEcho(transport, Map.of());
        int n = 1000;
        List<Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                sockets.add(connect(f.agent.outboundAddress()));
            }
            waitFor(() -> f.agent.registry().size() == n, "1000 connections registered");
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<Boolean>> results = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    Socket s = sockets.get(i);
                    byte[] msg = ("message-" + i + "-").repeat(64).getBytes();
                    results.add(ex.submit(() -> {
                        s.getOutputStream().write(msg);
                        byte[] back = s.getInputStream().readNBytes(msg.length);
                        return java.util.Arrays.equals(msg, back);
                    }));
                }
                for (Future<Boolean> r : results) {
                    assertThat(r.get(60, TimeUnit.SECONDS)).isTrue();
                }
            }
            assertThat(PromText.sum(f.scrape(), "ferry_connections_open", Map.of("direction", "outbound")))
                    .isEqualTo(n);
        } finally {
            for (Socket s : sockets) {
                s.close();
            }
        }
        waitFor(() -> f.agent.registry().size() == 0, "all closed");
        assertThat(PromText.sum(f.scrape(), "istio_tcp_connections_opened_total", Map.of()))
                .isEqualTo(n);
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void byteCountersAdvanceDuringALongConnection(String transport) throws Exception {
        AgentFixture f = agentWithEcho(transport, Map.of());
        try (Socket s = connect(f.agent.outboundAddress())) {
            byte[] mb = new byte[1 << 20];
            s.getOutputStream().write(mb);
            s.getInputStream().readNBytes(mb.length);
            // connection still open; the splice relay samples the kernel's counts every second
            waitFor(
                    () -> PromText.sum(scrape(f), "istio_tcp_sent_bytes_total", Map.of()) == 1 << 20,
                    "byte counters advanced");
            String metrics = f.scrape();
            assertThat(PromText.sum(metrics, "istio_tcp_received_bytes_total", Map.of()))
                    .isEqualTo(1 << 20);
            assertThat(PromText.sum(metrics, "istio_tcp_sent_bytes_total", Map.of()))
                    .isEqualTo(1 << 20);
            assertThat(PromText.sum(metrics, "istio_tcp_connections_closed_total", Map.of()))
                    .isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void connectionCapsRefuseWithUo(String transport) throws Exception {
        AgentFixture f = agentWithEcho(transport, Map.of("FERRY_MAX_CONNECTIONS", "3"));
        List<Socket> open = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Socket s = connect(f.agent.outboundAddress());
                s.getOutputStream().write(7);
                assertThat(s.getInputStream().read()).isEqualTo(7);
                open.add(s);
            }
            try (Socket fourth = connect(f.agent.outboundAddress())) {
                assertThat(readOrReset(fourth)).isEqualTo(-1);
            }
            waitFor(() -> closedWithFlag(f, "UO") == 1, "overflow counted");
        } finally {
            for (Socket s : open) {
                s.close();
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void serviceWithoutReadyEndpointsIsRefusedWithUh(String transport) throws Exception {
        Path mesh = new MeshFiles().service("empty", VIP, 80, "nobody", "80").write(dir);
        AgentFixture f = track(new AgentFixture(transport, mesh, Map.of()));
        f.originalDestination.set(new InetSocketAddress(InetAddress.getByName(VIP), 80));
        try (Socket s = connect(f.agent.outboundAddress())) {
            assertThat(readOrReset(s)).isEqualTo(-1);
        }
        waitFor(() -> closedWithFlag(f, "UH") == 1, "UH counted");
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void unknownDestinationPassesThroughOrIsRejected(String transport) throws Exception {
        try (EchoServer outside = new EchoServer(InetAddress.getByName("127.0.0.3"))) {
            Path mesh = new MeshFiles().write(dir);
            AgentFixture pass = track(new AgentFixture(transport, mesh, Map.of()));
            pass.originalDestination.set(outside.address());
            try (Socket s = connect(pass.agent.outboundAddress())) {
                s.getOutputStream().write(42);
                assertThat(s.getInputStream().read()).isEqualTo(42);
            }
            AgentFixture reject =
                    track(new AgentFixture(transport, mesh, Map.of("FERRY_UNKNOWN_DESTINATION", "reject")));
            reject.originalDestination.set(outside.address());
            try (Socket s = connect(reject.agent.outboundAddress())) {
                assertThat(readOrReset(s)).isEqualTo(-1);
            }
            waitFor(() -> closedWithFlag(reject, "NR") == 1, "NR counted");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void inboundDeliversOnlyToWorkloadsOfThisNode(String transport) throws Exception {
        AgentFixture f = agentWithEcho(transport, Map.of());
        EchoServer echo = (EchoServer) closeables.getFirst();
        f.originalDestination.set(echo.address()); // the pod IP:port the client dialled
        try (Socket s = connect(f.agent.inboundAddress())) {
            s.getOutputStream().write(9);
            assertThat(s.getInputStream().read()).isEqualTo(9);
        }
        f.originalDestination.set(new InetSocketAddress(InetAddress.getByName("127.0.0.9"), echo.port()));
        try (Socket s = connect(f.agent.inboundAddress())) {
            assertThat(readOrReset(s)).isEqualTo(-1);
        }
        waitFor(() -> f.agent.registry().size() == 0, "closed");
        String metrics = f.scrape();
        assertThat(PromText.sum(
                        metrics,
                        "istio_tcp_connections_closed_total",
                        Map.of("reporter", "destination", "destination_workload", "echo", "response_flags", "-")))
                .isEqualTo(1);
        assertThat(PromText.sum(
                        metrics,
                        "istio_tcp_connections_closed_total",
                        Map.of("reporter", "destination", "response_flags", "NR")))
                .isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll", "epoll+splice"})
    void connectionToOwnListenerIsRefusedNotLooped(String transport) throws Exception {
        AgentFixture f = agentWithEcho(transport, Map.of());
        f.originalDestination.set(f.agent.outboundAddress());
        try (Socket s = connect(f.agent.outboundAddress())) {
            assertThat(readOrReset(s)).isEqualTo(-1);
        }
        waitFor(() -> f.agent.registry().size() == 0, "closed");
        assertThat(closedWithFlag(f, "NR")).isEqualTo(1);
    }

    private static String scrape(AgentFixture f) {
        try {
            return f.scrape();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double closedWithFlag(AgentFixture f, String flag) {
        try {
            return PromText.sum(f.scrape(), "istio_tcp_connections_closed_total", Map.of("response_flags", flag));
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** -1 on an orderly close; a reset also counts as closed. */
    static int readOrReset(Socket s) throws IOException {
        try {
            return s.getInputStream().read();
        } catch (SocketException e) {
            return -1;
        }
    }

    static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }
}
