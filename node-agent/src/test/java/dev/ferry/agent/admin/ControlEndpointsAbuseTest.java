package dev.ferry.agent.admin;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.MeshFiles;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control ports (admin 15000, metrics 15020, readiness 15021) against clients that hold them: the defect was a
 * one-thread JDK server that a half request line blocked for minutes, making the agent NotReady. Now slow and
 * foreign clients are cut at the request deadline, and one source cannot take every connection.
 */
class ControlEndpointsAbuseTest {
    @TempDir
    Path dir;

    private static Socket open(InetSocketAddress to, InetAddress from) throws Exception {
        return dev.ferry.agent.support.Sockets.connectFrom(to, from, 15_000);
    }

    /** The workload's certificate comes first: readiness waits for it. */
    private static void awaitReady(AgentFixture f) throws Exception {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (f.send(f.agent.readinessAddress(), "/healthz/ready", "GET").statusCode() != 200) {
            assertThat(System.nanoTime()).as("ready").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    /** Reads until the server closes (or the socket times out): what the server said. */
    private static String drain(Socket s) throws Exception {
        InputStream in = s.getInputStream();
        byte[] all = in.readAllBytes();
        return new String(all, StandardCharsets.ISO_8859_1);
    }

    @Test
    void slowlorisOnEveryControlPortIsCutWhileOthersAreServed() throws Exception {
        Path mesh =
                new MeshFiles().pod("web-1", "127.0.0.2", "node-1", "web", 8080).write(dir);
        try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of())) {
            awaitReady(f);
            InetAddress attacker = InetAddress.getByName("127.0.0.3");
            List<Socket> slow = new ArrayList<>();
            for (InetSocketAddress port :
                    List.of(f.agent.adminAddress(), f.agent.metricsAddress(), f.agent.readinessAddress())) {
                Socket s = open(port, attacker);
                s.getOutputStream().write("GET /healthz/re".getBytes(StandardCharsets.US_ASCII)); // half a request line
                slow.add(s);
                Socket hello = open(port, attacker);
                hello.getOutputStream().write(TLS_CLIENT_HELLO_START); // a scraper set to https
                slow.add(hello);
            }
            long start = System.nanoTime();
            // meanwhile, everyone else is answered at once
            for (int i = 0; i < 3; i++) {
                assertThat(f.send(f.agent.readinessAddress(), "/healthz/ready", "GET")
                                .statusCode())
                        .isEqualTo(200);
                assertThat(f.scrape()).contains("ferry_worker_up");
                assertThat(f.send(f.agent.adminAddress(), "/config_dump", "GET").statusCode())
                        .isEqualTo(200);
            }
            assertThat(System.nanoTime() - start).as("served while held").isLessThan(4_000_000_000L);
            // and the slow ones are closed at the deadline: the half request line gets nothing, the ClientHello a 400
            for (int i = 0; i < slow.size(); i++) {
                Socket s = slow.get(i);
                String said = drain(s);
                long waited = System.nanoTime() - start;
                assertThat(waited).as("cut by the request deadline").isLessThan(12_000_000_000L);
                if (i % 2 == 1) {
                    assertThat(said)
                            .satisfiesAnyOf(
                                    x -> assertThat(x).isEmpty(),
                                    x -> assertThat(x).startsWith("HTTP/1.1 400"));
                }
                s.close();
            }
        }
    }

    @Test
    void oneSourceCannotTakeEveryConnectionAndAByteAtATimeIsCutAtTheDeadline() throws Exception {
        Path mesh =
                new MeshFiles().pod("web-1", "127.0.0.2", "node-1", "web", 8080).write(dir);
        try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of())) {
            awaitReady(f);
            InetAddress attacker = InetAddress.getByName("127.0.0.4");
            InetSocketAddress ready = f.agent.readinessAddress();
            List<Socket> held = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                held.add(open(ready, attacker));
            }
            // beyond the per-source cap the server closes on accept: a read sees EOF quickly
            int refused = 0;
            for (Socket s : held) {
                s.setSoTimeout(300);
                try {
                    if (s.getInputStream().read() == -1) {
                        refused++;
                    }
                } catch (SocketTimeoutException | java.net.SocketException e) {
                    // held open: within the cap
                }
            }
            assertThat(refused).isEqualTo(20 - ControlServer.Limits.DEFAULT.maxPerSource());
            assertThat(f.send(ready, "/healthz/ready", "GET").statusCode()).isEqualTo(200);

            // a byte per second never completes a request: cut at the deadline, not after the whole trickle
            Socket trickle = open(f.agent.metricsAddress(), InetAddress.getByName("127.0.0.5"));
            OutputStream out = trickle.getOutputStream();
            long start = System.nanoTime();
            byte[] request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
            boolean cut = false;
            for (byte b : request) {
                try {
                    out.write(b);
                    out.flush();
                    Thread.sleep(1000);
                } catch (java.io.IOException e) {
                    cut = true;
                    break;
                }
                if (System.nanoTime() - start > 12_000_000_000L) {
                    break;
                }
            }
            trickle.setSoTimeout(5000);
            String said = cut ? "" : drain(trickle);
            assertThat(said)
                    .as("no answer for a request that never arrived whole in time")
                    .doesNotContain("200 OK");
            assertThat(System.nanoTime() - start).isLessThan(15_000_000_000L);
            trickle.close();
            for (Socket s : held) {
                s.close();
            }
        }
    }

    @Test
    void oversizedAndMalformedRequestsGetAClearErrorAndAClose() throws Exception {
        Path mesh =
                new MeshFiles().pod("web-1", "127.0.0.2", "node-1", "web", 8080).write(dir);
        try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of())) {
            awaitReady(f);
            InetAddress client = InetAddress.getByName("127.0.0.6");
            for (String request : List.of(
                    "GET /healthz/ready HTTP/1.1\r\nX: " + "a".repeat(20_000) + "\r\n\r\n",
                    "\u0000\u0001\u0002garbage\r\n\r\n",
                    "GET /" + "a".repeat(10_000) + " HTTP/1.1\r\n\r\n")) {
                try (Socket s = open(f.agent.readinessAddress(), client)) {
                    s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
                    String said = drain(s);
                    assertThat(said).startsWith("HTTP/1.1 4");
                }
            }
            try (Socket s = open(f.agent.readinessAddress(), client)) {
                s.getOutputStream()
                        .write("GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                .getBytes(StandardCharsets.US_ASCII));
                assertThat(drain(s)).startsWith("HTTP/1.1 404");
            }
            assertThat(f.send(f.agent.readinessAddress(), "/healthz/ready", "GET")
                            .statusCode())
                    .isEqualTo(200);
        }
    }

    /** The first bytes of a TLS 1.3 ClientHello record: what an https scraper sends first. */
    private static final byte[] TLS_CLIENT_HELLO_START = {
        0x16, 0x03, 0x01, 0x00, (byte) 0xf4, 0x01, 0x00, 0x00, (byte) 0xf0, 0x03, 0x03, 0x11, 0x22, 0x33, 0x44
    };
}
