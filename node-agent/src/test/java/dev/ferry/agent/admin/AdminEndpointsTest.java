package dev.ferry.agent.admin;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.EchoServer;
import dev.ferry.agent.support.MeshFiles;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class AdminEndpointsTest {
    @TempDir
    Path dir;

    @Test
    void configDumpShowsConfigMeshAndLiveConnections() throws Exception {
        try (EchoServer echo = new EchoServer(InetAddress.getByName("127.0.0.2"))) {
            Path mesh = new MeshFiles()
                    .pod("echo-1", "127.0.0.2", "node-1", "echo", echo.port())
                    .service("echo", "10.96.0.10", 80, "echo", "echo")
                    // the same number over UDP: not relayed, and not to be shown with the TCP port's endpoints
                    .raw("""
                            apiVersion: v1
                            kind: Service
                            metadata: {name: dns, namespace: test}
                            spec: {clusterIP: 10.96.0.53, selector: {app: echo}, ports: [{name: udp, port: 80, protocol: UDP, targetPort: 80}]}
                            """)
                    .write(dir);
            try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of())) {
                f.originalDestination.set(new InetSocketAddress(InetAddress.getByName("10.96.0.10"), 80));
                try (Socket s = new Socket()) {
                    s.connect(f.agent.outboundAddress(), 5000);
                    s.getOutputStream().write(1);
                    assertThat(s.getInputStream().read()).isEqualTo(1);

                    // the workload of this node gets its certificate ahead of any mTLS connection
                    var echoId = dev.ferry.mesh.Identity.parse("spiffe://cluster.local/ns/test/sa/echo");
                    long deadline = System.nanoTime() + 15_000_000_000L;
                    while (f.agent.certificates().current(echoId).isEmpty()) {
                        assertThat(System.nanoTime()).as("certificate issued").isLessThan(deadline);
                        Thread.sleep(20);
                    }
                    JsonNode dump =
                            JsonMapper.builder().build().readTree(f.get(f.agent.adminAddress(), "/config_dump"));
                    JsonNode cert = dump.path("certificates").get(0);
                    assertThat(cert.path("identity").asString()).isEqualTo(echoId.uri());
                    assertThat(java.time.Instant.parse(cert.path("not_after").asString()))
                            .isAfter(java.time.Instant.parse(
                                    cert.path("next_renewal").asString()));
                    assertThat(cert.path("failures").asInt()).isZero();
                    assertThat(dump.path("node_config").path("nodeName").asString())
                            .isEqualTo("node-1");
                    assertThat(dump.path("node_config").path("idleTimeout").asString())
                            .isEqualTo("3600s");
                    assertThat(dump.path("transport").asString()).isEqualTo("epoll");
                    assertThat(dump.path("mesh").path("version").asLong()).isEqualTo(1);
                    JsonNode origin = dump.path("mesh").path("origin");
                    assertThat(origin.path("source").asString()).isEqualTo("file");
                    assertThat(origin.path("versions").path("sha256").asString())
                            .hasSize(64);
                    JsonNode svc = dump.path("mesh").path("services").get(0);
                    assertThat(svc.path("ports").get(0).path("endpoints").get(0).asString())
                            .isEqualTo("echo-1@127.0.0.2:" + echo.port());
                    JsonNode udp = dump.path("mesh")
                            .path("services")
                            .get(1)
                            .path("ports")
                            .get(0);
                    assertThat(udp.path("protocol").asString()).isEqualTo("UDP");
                    assertThat(udp.path("endpoints").asString()).isEqualTo("not relayed (UDP)");
                    assertThat(dump.path("workers").toString())
                            .contains("mesh-file-watch")
                            .contains("ferry-io-0");
                    assertThat(dump.path("mesh")
                                    .path("workloads")
                                    .get(0)
                                    .path("identity")
                                    .asString())
                            .isEqualTo("spiffe://cluster.local/ns/test/sa/echo");
                    JsonNode conn = dump.path("connections").path("listed").get(0);
                    assertThat(dump.path("connections").path("count").asInt()).isEqualTo(1);
                    assertThat(conn.path("original_destination").asString()).isEqualTo("10.96.0.10:80");
                    assertThat(conn.path("destination").asString()).startsWith("service test/echo:80 -> test/echo-1");
                    assertThat(conn.path("bytes_received").asLong()).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void loggingLevelsChangeAtRuntimeAndBadLevelsAreRefused() throws Exception {
        Path mesh = new MeshFiles().write(dir);
        try (AgentFixture f = new AgentFixture("epoll", mesh, Map.of())) {
            var ok = f.send(f.agent.adminAddress(), "/logging?dev.ferry.agent.proxy=debug", "POST");
            assertThat(ok.statusCode()).isEqualTo(200);
            assertThat(ok.body()).contains("dev.ferry.agent.proxy: debug");
            var logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("dev.ferry.agent.proxy");
            assertThat(logger.getLevel()).isEqualTo(Level.DEBUG);

            var bad = f.send(f.agent.adminAddress(), "/logging?level=loud", "POST");
            assertThat(bad.statusCode()).isEqualTo(400);
            assertThat(bad.body()).contains("unknown level 'loud'");
            assertThat(f.send(f.agent.adminAddress(), "/logging", "POST").statusCode())
                    .isEqualTo(400);
            assertThat(f.send(f.agent.adminAddress(), "/logging?x", "POST").statusCode())
                    .isEqualTo(400);
            assertThat(f.send(f.agent.adminAddress(), "/quitquitquit", "GET").statusCode())
                    .isEqualTo(405);
            logger.setLevel(null);
        }
    }

    @Test
    void readinessIsGreenOnlyOnceASnapshotIsIn() throws Exception {
        Path missing = dir.resolve("later.yaml");
        try (AgentFixture f = new AgentFixture("epoll", missing, Map.of())) {
            var notYet = f.send(f.agent.readinessAddress(), "/healthz/ready", "GET");
            assertThat(notYet.statusCode()).isEqualTo(503);
            assertThat(notYet.body()).contains("no mesh state yet").contains(missing.toString());

            Files.writeString(missing, "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
            long deadline = System.nanoTime() + 10_000_000_000L;
            int status = 503;
            while (status != 200 && System.nanoTime() < deadline) {
                Thread.sleep(50);
                status = f.send(f.agent.readinessAddress(), "/healthz/ready", "GET")
                        .statusCode();
            }
            assertThat(status).isEqualTo(200);
            String metrics = f.scrape();
            assertThat(metrics).contains("ferry_mesh_reloads_total{outcome=\"rejected\"}");
            assertThat(metrics).contains("ferry_mesh_reloads_total{outcome=\"applied\"} 1.0");
            assertThat(metrics).containsPattern("ferry_transport_info\\{event_loops=\"2\",transport=\"epoll\"} 1");
            assertThat(f.get(f.agent.metricsAddress(), "/stats/prometheus")).contains("ferry_mesh_snapshot_version 1");
        }
    }
}
