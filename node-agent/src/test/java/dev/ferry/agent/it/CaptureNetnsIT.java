package dev.ferry.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentProcess;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.Nginx;
import dev.ferry.agent.support.PromText;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The packaged agent in a network namespace with a real nftables REDIRECT, so the original destination comes from
 * the kernel's SO_ORIGINAL_DST; real nginx upstream, real curl and wrk clients. Root only; fails, never skips.
 */
class CaptureNetnsIT {
    static final String POD_IP = "10.244.0.5";
    static final String VIP = "10.96.0.10";

    @TempDir
    Path dir;

    /** A pod-like namespace: pod IP on a dummy link, a route to the service range, and the redirect rule. */
    private Netns podNamespace() throws Exception {
        Netns ns = new Netns("ferry-it");
        try {
            configure(ns);
        } catch (Exception e) {
            ns.close(); // never leave a namespace behind, even when set-up fails half-way
            throw e;
        }
        return ns;
    }

    private void configure(Netns ns) throws Exception {
        // A veth pair with both ends in the namespace stands in for the pod's interface (no dummy module here).
        ns.exec("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
        ns.exec("ip", "link", "set", "eth0-peer", "up");
        ns.exec("ip", "link", "set", "eth0", "up");
        ns.exec("ip", "addr", "add", POD_IP + "/24", "dev", "eth0");
        ns.exec("ip", "route", "add", "10.96.0.0/16", "dev", "eth0");
        Path rules = dir.resolve("redirect.nft");
        Files.writeString(rules, """
                table ip ferry {
                  chain output {
                    type nat hook output priority -100; policy accept;
                    meta mark 0x539 return
                    ip daddr 10.96.0.0/16 tcp dport 80 redirect to :15001
                  }
                }
                """);
        ns.exec("nft", "-f", rules.toString());
    }

    private Path agentConfig(String transport, Path mesh, String extra) throws Exception {
        Path cfg = dir.resolve("node.yaml");
        Files.writeString(cfg, """
                nodeName: node-1
                meshFile: %s
                transport: %s
                eventLoops: 1
                metricsAddress: 127.0.0.1
                """.formatted(mesh, transport) + extra);
        return cfg;
    }

    private Path mesh() throws Exception {
        return new MeshFiles()
                .pod("web-1", POD_IP, "node-1", "web", 8080)
                .service("web", VIP, 80, "web", "8080")
                .write(dir);
    }

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll"})
    void curlToServiceVipIsRedirectedAndRelayedWithTheKernelsOriginalDestination(String transport) throws Exception {
        try (Netns ns = podNamespace()) {
            Nginx.start(ns, dir, POD_IP + ":8080");
            try (AgentProcess agent = AgentProcess.start(ns, dir, agentConfig(transport, mesh(), ""))) {
                agent.awaitLog("serving:", Duration.ofSeconds(30));
                awaitHttp(ns, "http://127.0.0.1:15021/healthz/ready");

                String body = ns.exec("curl", "-sS", "--max-time", "5", "http://" + VIP + "/");
                assertThat(body).isEqualTo("ok");
                String big = ns.exec("sh", "-c", "curl -sS --max-time 10 http://" + VIP + "/big | wc -c");
                assertThat(big.trim()).isEqualTo(Integer.toString(1 << 20));

                agent.awaitLog("\"dst.service\":\"test/web\"", Duration.ofSeconds(10));
                assertThat(agent.output())
                        .contains("\"dst.addr\":\"10.96.0.10:80\"")
                        .contains("\"upstream.addr\":\"10.244.0.5:8080\"")
                        .contains("transport " + transport);
                String metrics = ns.exec("curl", "-sS", "--max-time", "5", "http://127.0.0.1:15020/metrics");
                Map<String, String> labels = Map.of(
                        "reporter", "source",
                        "destination_service", "web.test.svc.cluster.local",
                        "destination_workload", "web",
                        "request_protocol", "tcp");
                assertThat(PromText.sum(metrics, "istio_tcp_connections_opened_total", labels))
                        .isEqualTo(2);
                assertThat(PromText.sum(metrics, "istio_tcp_sent_bytes_total", labels))
                        .isGreaterThan(1 << 20);
                assertThat(metrics).contains("ferry_transport_info{event_loops=\"1\",transport=\"" + transport + "\"}");
            }
        }
    }

    @Test
    void sigtermUnderLoadDrainsAndExitsZero() throws Exception {
        try (Netns ns = podNamespace()) {
            Nginx.start(ns, dir, POD_IP + ":8080");
            try (AgentProcess agent = AgentProcess.start(ns, dir, agentConfig("epoll", mesh(), "drainTimeout: 2s\n"))) {
                agent.awaitLog("serving:", Duration.ofSeconds(30));
                awaitHttp(ns, "http://127.0.0.1:15021/healthz/ready");
                Process wrk = ns.start(
                        new ProcessBuilder("wrk", "-t1", "-c16", "-d6s", "--timeout", "2s", "http://" + VIP + "/")
                                .redirectErrorStream(true)
                                .redirectOutput(dir.resolve("wrk.txt").toFile()));
                Thread.sleep(1500);
                agent.signal("TERM");
                int code = agent.awaitExit(Duration.ofSeconds(20));
                assertThat(code).as(agent.output()).isZero();
                assertThat(agent.output())
                        .contains("draining: ")
                        .contains("drained")
                        .contains("ferry-agent stopped");
                // keep-alive connections outlive the 2 s deadline: they are closed with the drain flag
                assertThat(agent.output()).contains("\"response_flags\":\"DR\"");
                wrk.waitFor();
                String wrkOut = Files.readString(dir.resolve("wrk.txt"));
                assertThat(wrkOut).contains("requests in");
            }
        }
    }

    @Test
    void runningOutOfFileDescriptorsBacksOffInsteadOfSpinningAndRecovers() throws Exception {
        try (Netns ns = podNamespace()) {
            Nginx.start(ns, dir, POD_IP + ":8080");
            // ~60 fds go to the JVM itself; each relayed connection needs two more.
            try (AgentProcess agent = AgentProcess.start(
                    ns, dir, agentConfig("epoll", mesh(), ""), java.util.List.of("prlimit", "--nofile=160:160"))) {
                agent.awaitLog("serving:", Duration.ofSeconds(30));
                awaitHttp(ns, "http://127.0.0.1:15021/healthz/ready");
                // 200 idle client connections to the VIP, held for 6 s: far more than the agent has fds for.
                Process holders = ns.start(new ProcessBuilder("/usr/bin/python3", "-c", """
                        import socket, time
                        held = []
                        for i in range(200):
                            s = socket.socket(); s.settimeout(5)
                            try:
                                s.connect(("%s", 80)); held.append(s)
                            except OSError:
                                s.close()
                        print("held", len(held), flush=True)
                        time.sleep(6)
                        """.formatted(VIP))
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("holders.txt").toFile()));
                agent.awaitLog("accept failed, pausing accepts", Duration.ofSeconds(20));
                double before = agent.cpuSeconds();
                Thread.sleep(2000);
                double used = agent.cpuSeconds() - before;
                assertThat(used)
                        .as("agent CPU seconds over 2 s while out of fds")
                        .isLessThan(0.6);
                String metrics = ns.exec("sh", "-c", "curl -sS --max-time 5 http://127.0.0.1:15020/metrics || true");
                if (!metrics.isEmpty()) { // scraping needs an fd too; when it gets one, the counter must show
                    assertThat(PromText.sum(metrics, "ferry_accept_errors_total", Map.of()))
                            .isPositive();
                }
                assertThat(holders.waitFor(30, java.util.concurrent.TimeUnit.SECONDS))
                        .isTrue();
                // fds are back: new connections are served again
                long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
                String body = "";
                while (!"ok".equals(body) && System.nanoTime() < deadline) {
                    body = ns.exec("sh", "-c", "curl -sS --max-time 2 http://" + VIP + "/ || true");
                }
                assertThat(body).isEqualTo("ok");
            }
        }
    }

    private static void awaitHttp(Netns ns, String url) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try {
                ns.exec("curl", "-sSf", "--max-time", "2", url);
                return;
            } catch (java.io.IOException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }
}
