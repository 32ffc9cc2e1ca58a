package dev.ferry.agent.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.EchoServer;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.agent.support.PromText;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The defect: inbound connections had no source, so no per-workload cap applied, and one plaintext client holding
 * 9,000 idle connections made every other connection on the node fail with UO. Now a source IP has its own cap, and
 * connections that never move a byte are closed.
 */
class ConnectionLimitsTest {
    @TempDir
    Path dir;

    private static Socket connect(InetSocketAddress to, InetAddress from) throws IOException {
        return dev.ferry.agent.support.Sockets.connectFrom(to, from, 5000);
    }

    /** -1 when the agent closed or reset the connection, else the echoed byte. */
    private static int echo(Socket s) {
        try {
            s.getOutputStream().write(7);
            return s.getInputStream().read();
        } catch (IOException e) {
            return -1;
        }
    }

    private static void waitFor(BooleanSupplier c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (!c.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    @Test
    void oneSourceHoldingIdleInboundConnectionsCannotDenyTheRest() throws Exception {
        try (EchoServer web = new EchoServer(InetAddress.getByName("127.0.0.2"))) {
            Path mesh = new MeshFiles()
                    .pod("web-1", "127.0.0.2", "node-1", "web", web.port())
                    .write(dir);
            try (AgentFixture f = new AgentFixture(
                    "epoll", mesh, Map.of("FERRY_MAX_CONNECTIONS", "300", "FERRY_MAX_CONNECTIONS_PER_SOURCE", "100"))) {
                f.originalDestination.set(web.address());
                InetAddress attacker = InetAddress.getByName("127.0.0.3");
                List<Socket> held = new ArrayList<>();
                int refused = 0;
                try {
                    for (int i = 0; i < 250; i++) {
                        Socket s = connect(f.agent.inboundAddress(), attacker);
                        held.add(s);
                    }
                    waitFor(() -> f.agent.registry().inbound() == 100, "the attacker's first 100 admitted");
                    // which 100 won depends on accept order across event loops: count them all
                    for (Socket s : held) {
                        if (echo(s) == -1) {
                            refused++;
                        }
                    }
                    assertThat(refused).isEqualTo(150);
                    // everyone else is still served, inbound from another address
                    for (int i = 0; i < 20; i++) {
                        try (Socket other = connect(f.agent.inboundAddress(), InetAddress.getByName("127.0.0.4"))) {
                            assertThat(echo(other)).isEqualTo(7);
                        }
                    }
                    String metrics = f.scrape();
                    assertThat(PromText.sum(
                                    metrics,
                                    "ferry_connections_closed_total",
                                    Map.of("direction", "inbound", "reason", "overflow")))
                            .isEqualTo(150);
                } finally {
                    for (Socket s : held) {
                        s.close();
                    }
                }
                waitFor(() -> f.agent.registry().size() == 0, "all closed");
                assertThat(f.agent.registry().countedKeys())
                        .as("no counter left behind")
                        .isZero();
            }
        }
    }

    @Test
    void theReservedHeadroomAdmitsANewSourceWhenBigOnesShareTheRest() throws Exception {
        try (EchoServer web = new EchoServer(InetAddress.getByName("127.0.0.2"))) {
            Path mesh = new MeshFiles()
                    .pod("web-1", "127.0.0.2", "node-1", "web", web.port())
                    .write(dir);
            // headroom starts at 900 of 1000; two sources at their cap of 450 reach it
            try (AgentFixture f = new AgentFixture(
                    "epoll",
                    mesh,
                    Map.of("FERRY_MAX_CONNECTIONS", "1000", "FERRY_MAX_CONNECTIONS_PER_SOURCE", "450"))) {
                f.originalDestination.set(web.address());
                List<Socket> held = new ArrayList<>();
                try {
                    for (String big : List.of("127.0.0.5", "127.0.0.6")) {
                        for (int i = 0; i < 450; i++) {
                            held.add(connect(f.agent.inboundAddress(), InetAddress.getByName(big)));
                        }
                    }
                    waitFor(() -> f.agent.registry().inbound() == 900, "both big sources at their cap");
                    // a third big source is kept out of the reserve once it holds 64 ...
                    InetAddress third = InetAddress.getByName("127.0.0.7");
                    for (int i = 0; i < 64; i++) {
                        Socket s = connect(f.agent.inboundAddress(), third);
                        held.add(s);
                        assertThat(echo(s)).isEqualTo(7);
                    }
                    Socket over = connect(f.agent.inboundAddress(), third);
                    held.add(over);
                    assertThat(echo(over)).isEqualTo(-1);
                    // ... and a new source still gets in
                    try (Socket fresh = connect(f.agent.inboundAddress(), InetAddress.getByName("127.0.0.8"))) {
                        assertThat(echo(fresh)).isEqualTo(7);
                    }
                } finally {
                    for (Socket s : held) {
                        s.close();
                    }
                }
            }
        }
    }

    @Test
    void aConnectionThatNeverMovesAByteIsClosedAtTheFirstByteTimeout() throws Exception {
        try (EchoServer web = new EchoServer(InetAddress.getByName("127.0.0.2"))) {
            Path mesh = new MeshFiles()
                    .pod("web-1", "127.0.0.2", "node-1", "web", web.port())
                    .write(dir);
            try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of("FERRY_FIRST_BYTE_TIMEOUT", "1s"))) {
                f.originalDestination.set(web.address());
                InetAddress client = InetAddress.getByName("127.0.0.9");
                try (Socket silent = connect(f.agent.inboundAddress(), client);
                        Socket talking = connect(f.agent.inboundAddress(), client)) {
                    assertThat(echo(talking)).isEqualTo(7);
                    silent.setSoTimeout(10_000);
                    long start = System.nanoTime();
                    assertThat(silent.getInputStream().read()).isEqualTo(-1);
                    assertThat(System.nanoTime() - start).isLessThan(5_000_000_000L);
                    Thread.sleep(1500);
                    assertThat(echo(talking))
                            .as("a connection that moved bytes is not cut")
                            .isEqualTo(7);
                }
                String metrics = f.scrape();
                assertThat(PromText.sum(
                                metrics,
                                "ferry_connections_closed_total",
                                Map.of("direction", "inbound", "reason", "idle_timeout")))
                        .isEqualTo(1);
            }
        }
    }
}
