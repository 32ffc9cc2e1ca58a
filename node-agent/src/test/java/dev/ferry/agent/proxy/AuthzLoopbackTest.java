package dev.ferry.agent.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.EchoServer;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.agent.support.PromText;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Authorization on inbound plaintext, in-process on loopback: the source is the TCP peer (127.0.0.1), the
 * destinations are two workloads of this node (echo at 127.0.0.2, other at 127.0.0.3).
 */
class AuthzLoopbackTest {
    private static final String DENY_LOCAL = """
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: deny-local, namespace: test}
            spec:
              action: DENY
              selector: {matchLabels: {app: echo}}
              rules: [{from: [{source: {ipBlocks: [127.0.0.1/32]}}]}]
            """;

    @TempDir
    Path dir;

    private EchoServer echo;
    private EchoServer other;
    private AgentFixture agent;
    private final ListAppender<ILoggingEvent> accessLog = new ListAppender<>();

    @BeforeEach
    void setUp() throws Exception {
        echo = new EchoServer(InetAddress.getByName("127.0.0.2"));
        other = new EchoServer(InetAddress.getByName("127.0.0.3"));
        accessLog.start();
        ((Logger) LoggerFactory.getLogger("ferry.access")).addAppender(accessLog);
    }

    @AfterEach
    void tearDown() throws Exception {
        ((Logger) LoggerFactory.getLogger("ferry.access")).detachAppender(accessLog);
        if (agent != null) {
            agent.close();
        }
        echo.close();
        other.close();
    }

    private MeshFiles mesh() {
        return new MeshFiles()
                .pod("echo-1", "127.0.0.2", "node-1", "echo", echo.port())
                .pod("other-1", "127.0.0.3", "node-1", "other", other.port())
                .service("echo", "10.96.0.10", 80, "echo", "echo");
    }

    private Socket inboundTo(EchoServer target) throws Exception {
        agent.originalDestination.set(target.address());
        Socket s = new Socket();
        s.connect(agent.agent.inboundAddress(), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    private static Socket roundTrip(Socket s) throws Exception {
        s.getOutputStream().write(1);
        assertThat(s.getInputStream().read()).isEqualTo(1);
        return s;
    }

    @Test
    void deniedPlaintextIsResetCountedAndLoggedWithThePolicy() throws Exception {
        agent = new AgentFixture("epoll", mesh().raw(DENY_LOCAL).write(dir), Map.of("FERRY_EVENT_LOOPS", "1"));
        // a reset, not a FIN: it may surface at connect, at a socket option or at the read
        assertThatThrownBy(() -> {
                    try (Socket s = inboundTo(echo)) {
                        s.getInputStream().read();
                    }
                })
                .isInstanceOf(SocketException.class)
                .hasMessageContaining("reset");
        try (Socket s = inboundTo(other)) { // not selected by the policy
            s.getOutputStream().write(7);
            assertThat(s.getInputStream().read()).isEqualTo(7);
        }
        // enforced at the destination only: the same client reaches echo through the outbound side
        agent.originalDestination.set(new InetSocketAddress(InetAddress.getByName("10.96.0.10"), 80));
        try (Socket s = new Socket()) {
            s.connect(agent.agent.outboundAddress(), 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(8);
            assertThat(s.getInputStream().read()).isEqualTo(8);
        }
        RelayLoopbackTest.waitFor(() -> agent.agent.registry().size() == 0, "all closed");
        String metrics = agent.scrape();
        assertThat(PromText.sum(
                        metrics,
                        "ferry_authz_decisions_total",
                        Map.of("decision", "deny", "policy", "test/deny-local")))
                .isEqualTo(1);
        assertThat(PromText.sum(metrics, "ferry_authz_decisions_total", Map.of("decision", "allow", "policy", "none")))
                .isEqualTo(1);
        assertThat(PromText.sum(
                        metrics,
                        "istio_tcp_connections_closed_total",
                        Map.of("reporter", "destination", "destination_workload", "echo", "response_flags", "DENY")))
                .isEqualTo(1);
        assertThat(agent.get(agent.agent.adminAddress(), "/config_dump"))
                .contains("\"authorization_policies\"")
                .contains("\"deny-local\"");
        RelayLoopbackTest.waitFor(() -> accessLog.list.size() >= 3, "access log lines");
        assertThat(accessLog.list.stream().map(ILoggingEvent::getFormattedMessage))
                .anySatisfy(line -> assertThat(line)
                        .contains("\"authz.decision\":\"deny\"")
                        .contains("\"authz.policy\":\"test/deny-local\"")
                        .contains("\"response_flags\":\"DENY\""));
    }

    @Test
    void policyChangeCutsALiveConnectionWithinASecondAndSparesTheOthers() throws Exception {
        Path file = mesh().write(dir);
        agent = new AgentFixture("epoll", file, Map.of());
        // One at a time: the test's original destination is read when the agent accepts.
        try (Socket toEcho = roundTrip(inboundTo(echo));
                Socket toOther = roundTrip(inboundTo(other))) {
            Files.writeString(file, Files.readString(file) + "---\n" + DENY_LOCAL);
            long written = System.nanoTime();
            int r;
            try {
                r = toEcho.getInputStream().read();
            } catch (SocketException e) {
                r = -1; // reset
            }
            Duration took = Duration.ofNanos(System.nanoTime() - written);
            assertThat(r).isEqualTo(-1);
            assertThat(took).as("cut after the policy change").isLessThan(Duration.ofSeconds(1));
            toOther.getOutputStream().write(2);
            assertThat(toOther.getInputStream().read())
                    .as("a connection the policy does not cover")
                    .isEqualTo(2);
        }
        String metrics = agent.scrape();
        assertThat(PromText.sum(metrics, "ferry_authz_connections_cut_total", Map.of()))
                .isEqualTo(1);
        assertThat(PromText.sum(metrics, "ferry_connections_closed_total", Map.of("reason", "denied")))
                .isEqualTo(1);
    }
}
