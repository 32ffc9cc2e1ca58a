package dev.ferry.agent.lifecycle;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.EchoServer;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.mesh.kube.KubeApiServer;
import dev.ferry.mesh.kube.KubeFixtures;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent with {@code meshSource: kubernetes}, in-process on loopback, fed by a real kube-apiserver and etcd: the
 * same documents the file tests use, created through the API. A DENY policy created through the API cuts a live
 * connection within a second; a Service without a selector follows its EndpointSlice; an unreachable API server
 * keeps readiness red, naming it.
 */
class KubernetesSourceAgentTest {
    private static KubeApiServer server;
    private static KubernetesClient admin;
    private static EchoServer echo;
    private static EchoServer other;

    @TempDir
    Path dir;

    private AgentFixture agent;

    @BeforeAll
    static void startServer() throws Exception {
        server = KubeApiServer.start(true);
        admin = server.client(KubeApiServer.ADMIN_TOKEN);
        echo = new EchoServer(InetAddress.getByName("127.0.0.2"));
        other = new EchoServer(InetAddress.getByName("127.0.0.3"));
        KubeFixtures.installCrds(admin);
        KubeFixtures.applyMeshFile(
                admin,
                new MeshFiles()
                        .pod("echo-1", "127.0.0.2", "node-1", "echo", echo.port())
                        .pod("other-1", "127.0.0.3", "node-1", "other", other.port())
                        .service("echo", "10.96.0.10", 80, "echo", "echo")
                        .raw("""
                                apiVersion: v1
                                kind: Service
                                metadata: {name: legacy, namespace: test}
                                spec: {clusterIP: 10.96.0.20, ports: [{name: tcp, port: 80}]}
                                """)
                        .text());
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
        if (echo != null) {
            echo.close();
        }
        if (other != null) {
            other.close();
        }
    }

    @AfterEach
    void closeAgent() {
        if (agent != null) {
            agent.close();
        }
    }

    private AgentFixture agent(String url) throws Exception {
        Path kubeconfig = KubeFixtures.kubeconfig(dir, url, KubeApiServer.ADMIN_TOKEN);
        return new AgentFixture(
                "epoll",
                dir.resolve("unused-mesh-file"),
                Map.of("FERRY_MESH_SOURCE", "kubernetes", "FERRY_KUBECONFIG", kubeconfig.toString()));
    }

    private void awaitReady() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!agent.agent.notReadyReason().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(agent.agent.notReadyReason()).isEmpty();
    }

    private Socket connect(InetSocketAddress listener, InetSocketAddress original) throws Exception {
        agent.originalDestination.set(original);
        Socket s = new Socket();
        s.connect(listener, 5000);
        s.setSoTimeout(10_000);
        s.getOutputStream().write(1);
        assertThat(s.getInputStream().read()).isEqualTo(1);
        return s;
    }

    @Test
    void aDenyPolicyCreatedThroughTheApiCutsALiveConnectionWithinASecond() throws Exception {
        agent = agent(server.url());
        awaitReady();
        try (Socket live = connect(agent.agent.inboundAddress(), echo.address())) {
            long created = System.nanoTime();
            KubeFixtures.apply(admin, """
                    apiVersion: security.istio.io/v1
                    kind: AuthorizationPolicy
                    metadata: {name: deny-local, namespace: test}
                    spec:
                      action: DENY
                      selector: {matchLabels: {app: echo}}
                      rules: [{from: [{source: {ipBlocks: [127.0.0.1/32]}}]}]
                    """);
            int r;
            try {
                r = live.getInputStream().read();
            } catch (SocketException e) {
                r = -1; // reset
            }
            assertThat(r).isEqualTo(-1);
            assertThat(Duration.ofNanos(System.nanoTime() - created)).isLessThan(Duration.ofSeconds(1));
        } finally {
            admin.genericKubernetesResources("security.istio.io/v1", "AuthorizationPolicy")
                    .inNamespace("test")
                    .withName("deny-local")
                    .delete();
        }
        String dump = agent.get(agent.agent.adminAddress(), "/config_dump");
        assertThat(dump).contains("\"source\" : \"kubernetes\"").contains("\"AuthorizationPolicy\"");
        assertThat(dev.ferry.agent.support.PromText.sum(
                        agent.scrape(), "ferry_mesh_source_watching", Map.of("kind", "Pod")))
                .isEqualTo(1);
    }

    @Test
    void aServiceWithoutASelectorFollowsItsEndpointSlice() throws Exception {
        agent = agent(server.url());
        awaitReady();
        InetSocketAddress vip = new InetSocketAddress(InetAddress.getByName("10.96.0.20"), 80);
        // no slice yet: no endpoint, refused (the Service is known: its name stays in the reports)
        agent.originalDestination.set(vip);
        try (Socket s = new Socket()) {
            s.connect(agent.agent.outboundAddress(), 5000);
            s.setSoTimeout(10_000);
            assertThat(readOrReset(s)).isEqualTo(-1);
        }
        // ...and the reports still name the Service (they said "unknown" when a VIP had no endpoint)
        long named = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (dev.ferry.agent.support.PromText.sum(
                                agent.scrape(),
                                "istio_tcp_connections_closed_total",
                                Map.of("destination_service", "legacy.test.svc.cluster.local", "response_flags", "UH"))
                        < 1
                && System.nanoTime() < named) {
            Thread.sleep(20);
        }
        assertThat(dev.ferry.agent.support.PromText.sum(
                        agent.scrape(),
                        "istio_tcp_connections_closed_total",
                        Map.of("destination_service", "legacy.test.svc.cluster.local", "response_flags", "UH")))
                .isEqualTo(1);
        for (String[] target : new String[][] {{"127.0.0.2", "" + echo.port()}, {"127.0.0.3", "" + other.port()}}) {
            KubeFixtures.apply(admin, """
                    apiVersion: discovery.k8s.io/v1beta1
                    kind: EndpointSlice
                    metadata: {name: legacy-1, namespace: test, labels: {kubernetes.io/service-name: legacy}}
                    addressType: IPv4
                    ports: [{name: tcp, port: %s, protocol: TCP}]
                    endpoints: [{addresses: ["%s"], conditions: {ready: true}}]
                    """.formatted(target[1], target[0]));
            String expected = target[0] + ":" + target[1];
            EchoServer reached = target[0].equals("127.0.0.2") ? echo : other;
            InetSocketAddress before = reached.lastPeer();
            // until the slice reaches the state, the VIP still answers with a reset (or the previous endpoint)
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            boolean through = false;
            while (!through && System.nanoTime() < deadline) {
                agent.originalDestination.set(vip);
                try (Socket s = new Socket()) {
                    s.connect(agent.agent.outboundAddress(), 5000);
                    s.setSoTimeout(10_000);
                    s.getOutputStream().write(1);
                    through = readOrReset(s) == 1
                            && reached.lastPeer() != null
                            && !reached.lastPeer().equals(before);
                }
                if (!through) {
                    Thread.sleep(20);
                }
            }
            assertThat(through).as("reached " + expected + " through the VIP").isTrue();
        }
    }

    private static int readOrReset(Socket s) throws Exception {
        try {
            return s.getInputStream().read();
        } catch (SocketException e) {
            return -1;
        }
    }

    @Test
    void anUnreachableApiServerKeepsReadinessRedNamingIt() throws Exception {
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();
        }
        agent = agent("https://127.0.0.1:" + dead);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!agent.agent.notReadyReason().contains("unreachable") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(agent.agent.notReadyReason())
                .contains("kubernetes API server https://127.0.0.1:" + dead)
                .contains("unreachable");
        var ready = agent.send(agent.agent.readinessAddress(), "/healthz/ready", "GET");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(Files.exists(dir.resolve("unused-mesh-file"))).isFalse();
    }
}
