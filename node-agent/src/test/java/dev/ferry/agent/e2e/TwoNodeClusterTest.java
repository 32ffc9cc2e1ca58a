package dev.ferry.agent.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.CniDriver;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.Nginx;
import dev.ferry.agent.support.PromText;
import dev.ferry.agent.support.ShopMesh;
import dev.ferry.cni.install.ConflistInstaller;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Two simulated nodes (namespaces joined by an underlay veth, each with a bridge made by Debian's real bridge +
 * host-local plugins and Ferry chained last by the installer), one agent per node, pods created through the CNI
 * chain: a client pod on node 1 reaches a Service VIP served by a pod on node 2 through both agents, and the server
 * sees the client pod's IP. The test plays the control plane: it writes each pod's IP into the mesh file after ADD.
 */
class TwoNodeClusterTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path dir;

    @Test
    void podToServiceVipAcrossNodesThroughBothAgents() throws Exception {
        cluster(false);
    }

    @Test
    void podToServiceVipAcrossNodesOverHbone() throws Exception {
        cluster(true);
    }

    private void cluster(boolean hbone) throws Exception {
        this.hbone = hbone;
        if (hbone) { // one mesh CA for both nodes (the local CA; in production the remote CA)
            dev.ferry.agent.identity.LocalCa.loadOrCreate(
                    dir.resolve("ca.pem"), dir.resolve("ca-key.pem"), "cluster.local", dev.ferry.time.Ticker.system());
        }
        Path binDir = CniDriver.pluginDir(dir);
        Path mesh = dir.resolve("mesh.yaml");
        Files.writeString(mesh, meshYaml("", ""));
        String tag = Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000, 0xfffff));

        try (Netns node1 = new Netns("ferry-n1");
                Netns node2 = new Netns("ferry-n2");
                Netns clientPod = new Netns("ferry-c");
                Netns webPod = new Netns("ferry-w")) {
            // underlay: 192.168.100.0/24 between the nodes, pod ranges routed across it
            Netns.run("ip", "link", "add", "u1" + tag, "type", "veth", "peer", "name", "u2" + tag);
            Netns.run("ip", "link", "set", "u1" + tag, "netns", node1.name(), "name", "underlay");
            Netns.run("ip", "link", "set", "u2" + tag, "netns", node2.name(), "name", "underlay");
            for (Netns n : new Netns[] {node1, node2}) {
                n.exec("ip", "link", "set", "underlay", "up");
                n.exec("sysctl", "-qw", "net.ipv4.ip_forward=1");
            }
            node1.exec("ip", "addr", "add", "192.168.100.1/24", "dev", "underlay");
            node2.exec("ip", "addr", "add", "192.168.100.2/24", "dev", "underlay");
            node1.exec("ip", "route", "add", "10.244.2.0/24", "via", "192.168.100.2");
            node2.exec("ip", "route", "add", "10.244.1.0/24", "via", "192.168.100.1");

            JsonNode conf1 = nodeConflist(1);
            JsonNode conf2 = nodeConflist(2);
            try (AgentFixture agent1 = agent("node-1", mesh, 1);
                    AgentFixture agent2 = agent("node-2", mesh, 2)) {
                CniDriver cni1 = new CniDriver(node1, binDir);
                CniDriver cni2 = new CniDriver(node2, binDir);
                CniDriver.Result c = cni1.add(conf1, "c-client", clientPod.path(), "shop", "client-1", "uid-client");
                assertThat(c.code()).as(c.stdout()).isZero();
                CniDriver.Result w = cni2.add(conf2, "c-web", webPod.path(), "shop", "web-1", "uid-web");
                assertThat(w.code()).as(w.stdout()).isZero();
                String clientIp = c.ip();
                String webIp = w.ip();
                assertThat(clientIp).startsWith("10.244.1.");
                assertThat(webIp).startsWith("10.244.2.");

                // the control plane learns the pods' IPs (the runtime reports them after the chain returns)
                Files.writeString(mesh, meshYaml(clientIp, webIp));
                awaitEndpoint(agent1);
                awaitEndpoint(agent2);
                Nginx.startWhoAmI(webPod, dir, webIp, 8080);
                Nginx.startWhoAmIH2(webPod, dir, webIp, 8081);
                if (hbone) { // both workloads have their certificates (fetched as soon as the mesh shows them)
                    awaitCertificate(agent1, "spiffe://cluster.local/ns/shop/sa/client");
                    awaitCertificate(agent2, "spiffe://cluster.local/ns/shop/sa/web");
                }

                String body = clientPod.exec("curl", "-sS", "--max-time", "5", "http://10.96.0.10/");
                assertThat(body).isEqualTo("hello from web, you are " + clientIp);

                if (hbone) {
                    overHbone(clientPod, node1, mesh, meshYaml(clientIp, webIp), agent1, agent2);
                    return;
                }
                Map<String, String> outbound =
                        Map.of("reporter", "source", "source_workload", "client", "destination_workload", "web");
                Map<String, String> inbound = Map.of("reporter", "destination", "destination_workload", "web");
                assertThat(PromText.sum(agent1.scrape(), "istio_tcp_connections_opened_total", outbound))
                        .isEqualTo(1);
                assertThat(PromText.sum(agent2.scrape(), "istio_tcp_connections_opened_total", inbound))
                        .isEqualTo(1);
                authorizationAtTheDestination(mesh, meshYaml(clientIp, webIp), clientPod, agent2);
                l7PolicyAtTheDestination(mesh, meshYaml(clientIp, webIp), clientPod, node1, webIp, agent2);
                l7PolicyOnHttp2AtTheDestination(clientPod, node1, webIp, agent2);

                assertThat(cni1.del(conf1, "c-client", clientPod.path(), "shop", "client-1", "uid-client")
                                .code())
                        .isZero();
                assertThat(cni2.del(conf2, "c-web", webPod.path(), "shop", "web-1", "uid-web")
                                .code())
                        .isZero();
            }
        }
    }

    /**
     * Policies of the web workload, enforced by node 2's agent on plaintext from the client pod: a DENY by the
     * client's IP block cuts a live connection within a second and refuses new ones; an ALLOW by namespace does not
     * admit a plaintext peer (it has no namespace without mTLS); an ALLOW by IP block does.
     */
    private void authorizationAtTheDestination(Path mesh, String base, Netns clientPod, AgentFixture agent2)
            throws Exception {
        Process held = clientPod.start(
                new ProcessBuilder("socat", "-T", "60", "STDIO", "TCP:10.96.0.10:80").redirectErrorStream(true));
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (agent2.agent.registry().inbound() == 0) { // the held connection reached node 2
            assertThat(System.nanoTime()).as("held connection open").isLessThan(deadline);
            Thread.sleep(20);
        }
        Files.writeString(mesh, base + policy("deny-node1-pods", "DENY", "source: {ipBlocks: [10.244.1.0/24]}"));
        long written = System.nanoTime();
        assertThat(held.waitFor(5, TimeUnit.SECONDS)).as("held connection cut").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(Duration.ofSeconds(1));
        assertThat(curl(clientPod)).doesNotStartWith("hello");
        assertThat(PromText.sum(
                        agent2.scrape(),
                        "ferry_authz_decisions_total",
                        Map.of("decision", "deny", "policy", "shop/deny-node1-pods")))
                .isGreaterThanOrEqualTo(2); // the cut and the refused connection

        Files.writeString(mesh, base + policy("allow-shop", "ALLOW", "source: {namespaces: [shop]}"));
        awaitPolicy(agent2, "shop/allow-shop");
        assertThat(curl(clientPod)).as("plaintext has no namespace").doesNotStartWith("hello");

        Files.writeString(mesh, base + policy("allow-node1-pods", "ALLOW", "source: {ipBlocks: [10.244.1.0/24]}"));
        awaitPolicy(agent2, "shop/allow-node1-pods");
        assertThat(curl(clientPod)).startsWith("hello from web");
    }

    private static String policy(String name, String action, String from) {
        return """
                ---
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: %s, namespace: shop}
                spec:
                  selector: {matchLabels: {app: web}}
                  action: %s
                  rules: [{from: [{%s}]}]
                """.formatted(name, action, from);
    }

    private static void awaitPolicy(AgentFixture agent, String key) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (agent.agent.snapshot().policies().stream().noneMatch(p -> p.key().equals(key))) {
            assertThat(System.nanoTime()).as("policy " + key + " loaded").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** The body, or curl's error: a refused connection must not fail the test by itself. */
    private static String curl(Netns pod) throws Exception {
        return pod.exec("sh", "-c", "curl -sS --max-time 5 http://10.96.0.10/ 2>&1 || true");
    }

    private boolean hbone;

    private static void awaitCertificate(AgentFixture agent, String uri) throws InterruptedException {
        var id = dev.ferry.mesh.Identity.parse(uri);
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (agent.agent.certificates().current(id).isEmpty()) {
            assertThat(System.nanoTime()).as("certificate for " + uri).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private AgentFixture agent(String node, Path mesh, int n) throws Exception {
        Map<String, String> env = new java.util.HashMap<>(Map.of(
                "FERRY_NODE_NAME",
                node,
                "FERRY_TEST_REAL_ORIGINAL_DST",
                "true",
                "FERRY_POD_EVENT_SOCKET",
                dir.resolve("node" + n + "/run/cni.sock").toString(),
                "FERRY_ENROLLED_NAMESPACES_FILE",
                dir.resolve("node" + n + "/enrolled").toString()));
        if (hbone) {
            env.put("FERRY_HBONE_OUTBOUND", "auto"); // the default, spelled out: tunnels to the marked pods
            env.put("FERRY_CA_CERT_FILE", dir.resolve("ca.pem").toString());
            env.put("FERRY_CA_KEY_FILE", dir.resolve("ca-key.pem").toString());
        }
        return new AgentFixture("epoll", mesh, env);
    }

    /**
     * Over HBONE: the bytes cross the underlay only inside mTLS to 15008 (a capture finds no plaintext of the
     * request or the answer); policies see the client's verified principal and namespace: a DENY by principal
     * refuses it across nodes, an ALLOW by namespace admits it.
     */
    private void overHbone(
            Netns clientPod, Netns node1, Path mesh, String base, AgentFixture agent1, AgentFixture agent2)
            throws Exception {
        Path pcap = dir.resolve("underlay.pcap");
        Process capture = node1.start(new ProcessBuilder(
                        "tcpdump",
                        "--immediate-mode",
                        "-Z",
                        "root",
                        "-i",
                        "underlay",
                        "-U",
                        "-w",
                        pcap.toString(),
                        "tcp")
                .redirectErrorStream(true));
        var tcpdumpOut = new java.io.BufferedReader(
                new java.io.InputStreamReader(capture.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
        String line = "";
        for (int i = 0; i < 5 && line != null && !line.contains("listening on"); i++) {
            line = tcpdumpOut.readLine(); // "listening on ...": capturing from here on
        }
        assertThat(line).as("tcpdump started").contains("listening on");
        String body = clientPod.exec(
                "curl", "-sS", "--max-time", "5", "-H", "X-Secret: plaintext-marker", "http://10.96.0.10/");
        assertThat(body).startsWith("hello from web, you are 10.244.1.");
        Thread.sleep(300);
        capture.destroy();
        capture.waitFor(5, TimeUnit.SECONDS);
        String packets = node1.exec("tcpdump", "-nn", "-r", pcap.toString());
        assertThat(packets).as("the tunnel crossed the underlay: " + packets).contains(".15008");
        String ascii = node1.exec("tcpdump", "-nn", "-A", "-r", pcap.toString());
        assertThat(ascii).doesNotContain("plaintext-marker").doesNotContain("hello from web");
        // the pooled tunnel's TCP connection (in the client pod, where its socket lives) has keepalive from connect,
        // though the relay that asked for it leaves its own upstreams' keepalive to their first idle check
        assertThat(clientPod.exec("ss", "-tnoH", "state", "established", "dport", "=", ":15008"))
                .as("the pooled HBONE connection")
                .contains(":15008")
                .contains("keepalive");
        assertThat(PromText.sum(
                        agent1.scrape(),
                        "istio_tcp_connections_closed_total",
                        Map.of(
                                "reporter", "source",
                                "response_flags", "-",
                                "connection_security_policy", "mutual_tls",
                                "source_principal", "spiffe://cluster.local/ns/shop/sa/client",
                                "destination_principal", "spiffe://cluster.local/ns/shop/sa/web")))
                .isGreaterThanOrEqualTo(1);

        // the destination counts the tunnel too: destination reporter, mutual_tls, the client's principal, and the
        // client's workload (the pod at the tunnel's source IP, running as that principal)
        assertThat(PromText.sum(
                        agent2.scrape(),
                        "istio_tcp_connections_opened_total",
                        Map.of(
                                "reporter", "destination",
                                "connection_security_policy", "mutual_tls",
                                "source_principal", "spiffe://cluster.local/ns/shop/sa/client",
                                "source_workload", "client",
                                "source_workload_namespace", "shop")))
                .isGreaterThanOrEqualTo(1);
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (agent2.agent.registry().inbound() > 0) { // earlier tunnels are closed
            assertThat(System.nanoTime()).as("earlier tunnels closed").isLessThan(deadline);
            Thread.sleep(20);
        }
        Process held = clientPod.start(
                new ProcessBuilder("socat", "-T", "60", "STDIO", "TCP:10.96.0.10:80").redirectErrorStream(true));
        while (agent2.agent.registry().inbound() == 0) { // the held tunnel reached node 2
            assertThat(System.nanoTime()).as("held tunnel open").isLessThan(deadline);
            Thread.sleep(20);
        }
        Files.writeString(
                mesh, base + policy("no-client", "DENY", "source: {principals: [cluster.local/ns/shop/sa/client]}"));
        long written = System.nanoTime();
        assertThat(held.waitFor(5, TimeUnit.SECONDS)).as("held tunnel cut").isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(Duration.ofSeconds(1));
        awaitPolicy(agent2, "shop/no-client");
        assertThat(curl(clientPod)).as("denied by principal across nodes").doesNotStartWith("hello");
        assertThat(PromText.sum(
                        agent1.scrape(),
                        "istio_tcp_connections_closed_total",
                        Map.of("reporter", "source", "response_flags", "DENY")))
                .isEqualTo(1);
        long counted = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (PromText.sum(
                        agent2.scrape(),
                        "istio_tcp_connections_closed_total",
                        Map.of("reporter", "destination", "response_flags", "DENY"))
                < 2) { // the cut tunnel and the refused CONNECT, each reported when its stream has closed
            assertThat(System.nanoTime())
                    .as("both DENY closes counted at the destination")
                    .isLessThan(counted);
            Thread.sleep(20);
        }

        Files.writeString(mesh, base + policy("shop-only", "ALLOW", "source: {namespaces: [shop]}"));
        awaitPolicy(agent2, "shop/shop-only");
        assertThat(curl(clientPod)).as("allowed by namespace (mTLS)").startsWith("hello from web");

        // an L7 policy over mTLS: the source's agent tunnels the bytes (L4), the destination's parses them
        Files.writeString(mesh, base + NO_ADMIN + policy("shop-only", "ALLOW", "source: {namespaces: [shop]}"));
        awaitPolicy(agent2, "shop/no-admin");
        String webIp = agent2.agent
                .snapshot()
                .workload("shop", "web-1")
                .orElseThrow()
                .ips()
                .getFirst()
                .getHostAddress();
        assertThat(codes(clientPod, "http://10.96.0.10/public", "http://10.96.0.10/admin/x"))
                .as("over HBONE, through the Service")
                .isEqualTo("200 403");
        assertThat(codes(clientPod, "http://" + webIp + ":8080/admin"))
                .as("over HBONE, straight to the pod")
                .isEqualTo("403");
        assertThat(PromText.sum(
                        agent2.scrape(),
                        "istio_requests_total",
                        Map.of(
                                "reporter", "destination",
                                "response_code", "403",
                                "request_protocol", "http",
                                "connection_security_policy", "mutual_tls",
                                "source_principal", "spiffe://cluster.local/ns/shop/sa/client")))
                .isEqualTo(2);
        // one URL per curl: curl 7.88 cannot reuse an h2c connection with prior knowledge
        assertThat(codes(clientPod, "--http2-prior-knowledge", "http://10.96.0.12/admin"))
                .as("HTTP/2 over HBONE: each stream judged inside the tunnel")
                .isEqualTo("403");
        assertThat(codes(clientPod, "--http2-prior-knowledge", "http://10.96.0.12/public"))
                .isEqualTo("200");
        assertThat(PromText.sum(
                        agent2.scrape(),
                        "istio_requests_total",
                        Map.of(
                                "reporter", "destination",
                                "response_code", "403",
                                "connection_security_policy", "mutual_tls",
                                "source_principal", "spiffe://cluster.local/ns/shop/sa/client")))
                .isEqualTo(3);
    }

    /** A DENY on the web workload's admin paths: an HTTP attribute, so the destination parses its HTTP port. */
    private static final String NO_ADMIN = """
            ---
            apiVersion: security.istio.io/v1
            kind: AuthorizationPolicy
            metadata: {name: no-admin, namespace: shop}
            spec:
              selector: {matchLabels: {app: web}}
              action: DENY
              rules: [{to: [{operation: {paths: [/admin, /admin/*]}}]}]
            """;

    /**
     * L7 policy at the destination, whichever way a client comes: each request on a connection is decided on its
     * own (403 from node 2's agent, the app never sees it; the next request on the same connection passes); the
     * path is normalized before it is judged (dot segments, encoded letters); a client that is not a pod — node 1
     * itself, plaintext straight to the pod IP, no agent on its side — is refused the same; a bad request to the
     * parsed port is answered 400 there too.
     */
    private void l7PolicyAtTheDestination(
            Path mesh, String base, Netns clientPod, Netns node1, String webIp, AgentFixture agent2) throws Exception {
        Files.writeString(mesh, base + NO_ADMIN);
        awaitPolicy(agent2, "shop/no-admin");
        assertThat(codes(
                        clientPod,
                        "http://10.96.0.10/public",
                        "http://10.96.0.10/admin",
                        "http://10.96.0.10/public",
                        "http://10.96.0.10/admin/users"))
                .as("one keep-alive connection: each request decided on its own")
                .isEqualTo("200 403 200 403");
        assertThat(clientPod.exec("curl", "-sS", "--max-time", "5", "http://10.96.0.10/admin"))
                .isEqualTo("RBAC: access denied");
        assertThat(codes(clientPod, "--path-as-is", "http://10.96.0.10/public/../admin", "http://10.96.0.10/%61dmin"))
                .as("normalized before judged")
                .isEqualTo("403 403");
        ListAppender<ILoggingEvent> access = accessLog();
        try {
            assertThat(codes(node1, "http://" + webIp + ":8080/admin", "http://" + webIp + ":8080/public"))
                    .as("plaintext straight to the pod, from outside the mesh")
                    .isEqualTo("403 200");
            // the destination's own access-log line per request (only node 2's agent saw these)
            assertThat(awaitAccessLine(access, "\"path\":\"/admin\"", "\"direction\":\"inbound\""))
                    .contains("\"response_code\":403", "\"protocol\":\"HTTP/1.1\"");
        } finally {
            detach(access);
        }
        String smuggled = node1.exec(
                "sh",
                "-c",
                "printf 'POST /public HTTP/1.1\r\nHost: web\r\nContent-Length: 4\r\nTransfer-Encoding: chunked"
                        + "\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: web\r\n\r\n' | socat -T 5 - TCP:"
                        + webIp + ":8080");
        assertThat(smuggled)
                .startsWith("HTTP/1.1 400 ")
                .doesNotContain("hello from web")
                .doesNotContain("RBAC");
        Map<String, String> denied =
                Map.of("reporter", "destination", "response_code", "403", "request_protocol", "http");
        assertThat(PromText.sum(agent2.scrape(), "istio_requests_total", denied))
                .isEqualTo(6);
        assertThat(PromText.sum(
                        agent2.scrape(),
                        "istio_requests_total",
                        Map.of("reporter", "destination", "response_code", "200", "destination_workload", "web")))
                .isEqualTo(3);
        assertThat(PromText.sum(
                        agent2.scrape(),
                        "ferry_authz_decisions_total",
                        Map.of("decision", "deny", "policy", "shop/no-admin")))
                .isEqualTo(6);
    }

    /**
     * The same policy on a port declared {@code http2} (nginx speaking h2c only): every stream of one HTTP/2
     * connection is decided on its own (a denied stream is answered 403 and reset, the connection and its other
     * streams go on); a client outside the mesh straight to the pod is judged the same, paths normalized; HTTP/1.1
     * sent to that port is not relayed unjudged: the HTTP/2 codec refuses it and the connection closes.
     */
    private void l7PolicyOnHttp2AtTheDestination(Netns clientPod, Netns node1, String webIp, AgentFixture agent2)
            throws Exception {
        ListAppender<ILoggingEvent> access = accessLog();
        String streams;
        try {
            streams = clientPod.exec(
                    "timeout",
                    "10",
                    "nghttp",
                    "-v",
                    "http://10.96.0.12/public",
                    "http://10.96.0.12/admin",
                    "http://10.96.0.12/public/x");
            assertThat(awaitAccessLine(
                            access, "\"path\":\"/admin\"", "\"protocol\":\"HTTP/2\"", "\"direction\":\"inbound\""))
                    .as("the destination's access-log line for the denied stream")
                    .contains("\"response_code\":403");
        } finally {
            detach(access);
        }
        assertThat(streams.lines().filter(l -> l.contains(":status: 200"))).hasSize(2);
        assertThat(streams.lines().filter(l -> l.contains(":status: 403"))).hasSize(1);
        assertThat(streams).contains("RBAC: access denied").doesNotContain("recv GOAWAY");
        assertThat(streams.lines().filter(l -> l.contains("send HEADERS frame")))
                .hasSize(3);
        // Bodies past the 64 KiB initial window: the denied one is answered and discarded (its window given back,
        // the stream reset), the allowed one flows to the app under flow control; neither stalls the connection.
        Path body = Files.write(dir.resolve("h2-body"), new byte[256 * 1024]);
        String posts = clientPod.exec(
                "timeout",
                "10",
                "nghttp",
                "-v",
                "-d",
                body.toString(),
                "http://10.96.0.12/admin",
                "http://10.96.0.12/public");
        assertThat(posts.lines().filter(l -> l.contains(":status: 200"))).hasSize(1);
        assertThat(posts.lines().filter(l -> l.contains(":status: 403"))).hasSize(1);
        assertThat(posts).contains("hello from web").doesNotContain("recv GOAWAY");
        // 200 streams at once on one client connection, over nginx's 128 per connection: the destination's
        // connection to the app holds those beyond the app's limit until streams end, none fails
        String burst = clientPod.exec(
                "timeout", "30", "h2load", "-n", "600", "-c", "1", "-m", "200", "http://10.96.0.12/public");
        assertThat(burst).as(burst).contains("600 succeeded, 0 failed, 0 errored");
        String direct = "http://" + webIp + ":8081";
        assertThat(codes(node1, "--http2-prior-knowledge", direct + "/admin"))
                .as("h2c straight to the pod, from outside the mesh")
                .isEqualTo("403");
        assertThat(codes(node1, "--http2-prior-knowledge", "--path-as-is", direct + "/public/../admin"))
                .isEqualTo("403");
        assertThat(codes(node1, "--http2-prior-knowledge", direct + "/%61dmin/users"))
                .isEqualTo("403");
        assertThat(codes(node1, "--http2-prior-knowledge", direct + "/public")).isEqualTo("200");
        assertThat(node1.exec(
                        "sh", "-c", "curl -s --max-time 5 -w ' %{http_code} ' --http1.1 " + direct + "/admin; true"))
                .as("HTTP/1.1 on the HTTP/2 port: refused by the codec (a GOAWAY, no HTTP answer), then closed")
                .isEqualTo(" 000 ");
        Map<String, String> denied = Map.of(
                "reporter",
                "destination",
                "response_code",
                "403",
                "request_protocol",
                "http",
                "destination_workload",
                "web");
        assertThat(PromText.sum(agent2.scrape(), "istio_requests_total", denied))
                .as("the six HTTP/1.1 denials before, five HTTP/2 ones now")
                .isEqualTo(11);
        assertThat(PromText.sum(
                        agent2.scrape(),
                        "ferry_authz_decisions_total",
                        Map.of("decision", "deny", "policy", "shop/no-admin")))
                .isEqualTo(11);
    }

    /** The status codes of requests curl sends (over one connection where it can), space-separated. */
    private static String codes(Netns from, String... args) throws Exception {
        java.util.List<String> cmd =
                new java.util.ArrayList<>(java.util.List.of("curl", "-s", "--max-time", "5", "-w", "%{http_code} "));
        for (String a : args) {
            if (a.startsWith("http")) {
                cmd.addAll(java.util.List.of("-o", "/dev/null")); // curl's -o applies to one URL
            }
            cmd.add(a);
        }
        return from.exec(cmd.toArray(String[]::new)).trim();
    }

    private JsonNode nodeConflist(int n) throws Exception {
        Path confDir = Files.createDirectories(dir.resolve("node" + n + "/net.d"));
        Files.writeString(confDir.resolve("10-bridge.conflist"), """
                {"cniVersion":"1.0.0","name":"k8s-pod-network","plugins":[
                  {"type":"bridge","bridge":"cni0","isDefaultGateway":true,"ipMasq":false,
                   "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.%d.0/24"}]],"dataDir":"%s"}}]}
                """.formatted(n, dir.resolve("node" + n + "/ipam")));
        ObjectNode ferry = JSON.createObjectNode();
        ferry.put("agentSocket", dir.resolve("node" + n + "/run/cni.sock").toString());
        ferry.put(
                "enrolledNamespacesFile", dir.resolve("node" + n + "/enrolled").toString());
        return JSON.readTree(Files.readString(new ConflistInstaller(confDir, ferry).chain()));
    }

    private static void awaitEndpoint(AgentFixture agent) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (agent.agent.snapshot().services().isEmpty()
                || agent.agent
                        .snapshot()
                        .bindingFor(new java.net.InetSocketAddress("10.96.0.10", 80))
                        .endpoints()
                        .isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("agent never saw the web endpoint");
            }
            Thread.sleep(50);
        }
    }

    /**
     * The test is the control plane: with HBONE, a pod with an IP (so through the CNI chain, captured) carries the
     * mark its agent would set through the API, and the source agent tunnels because of it ({@code auto}).
     */
    private String meshYaml(String clientIp, String webIp) {
        return ShopMesh.yaml(clientIp, webIp, "node-2", hbone) + """
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web-http, namespace: shop}
                spec: {clusterIP: 10.96.0.11, ports: [{name: http, port: 80, targetPort: http}], selector: {app: web}}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web-h2, namespace: shop}
                spec: {clusterIP: 10.96.0.12, ports: [{name: http2, port: 80, targetPort: 8081}], selector: {app: web}}
                """;
    }

    /** Catches the access log's lines (the agents run in this JVM) until {@link #detach}. */
    private static ListAppender<ILoggingEvent> accessLog() {
        ListAppender<ILoggingEvent> a = new ListAppender<>();
        a.start();
        ((Logger) LoggerFactory.getLogger("ferry.access")).addAppender(a);
        return a;
    }

    private static void detach(ListAppender<ILoggingEvent> a) {
        ((Logger) LoggerFactory.getLogger("ferry.access")).detachAppender(a);
    }

    /** The first caught line holding every part, waited for up to 5 s (a line is written once the answer is out). */
    private static String awaitAccessLine(ListAppender<ILoggingEvent> a, String... parts) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            List<String> lines;
            synchronized (a) { // the appender appends under its own lock (AppenderBase.doAppend)
                lines = a.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
            }
            for (String l : lines) {
                if (java.util.Arrays.stream(parts).allMatch(l::contains)) {
                    return l;
                }
            }
            if (System.nanoTime() > deadline) {
                return "no access-log line with " + String.join(" ", parts) + " among " + lines.size();
            }
            Thread.sleep(20);
        }
    }
}
