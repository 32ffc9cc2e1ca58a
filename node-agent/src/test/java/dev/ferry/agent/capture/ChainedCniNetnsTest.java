package dev.ferry.agent.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.config.NodeConfigLoader;
import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.CniDriver;
import dev.ferry.agent.support.KubeletCgroupFixture;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.Nginx;
import dev.ferry.agent.support.PromText;
import dev.ferry.cni.install.ConflistInstaller;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Debian's real CNI reference plugins (bridge + host-local) with Ferry chained last by the installer: a pod
 * namespace gets its address from the chain and is captured by the agent in the same ADD. The chain runs inside a
 * node namespace, so the bridge and its routes never touch the host's. Root only; fails, never skips.
 */
class ChainedCniNetnsTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path dir;

    @Test
    void realBridgeChainWithFerryLastCapturesTheNewPod() throws Exception {
        Path confDir = Files.createDirectories(dir.resolve("net.d"));
        Path binDir = CniDriver.pluginDir(dir);
        Files.writeString(confDir.resolve("10-bridge.conflist"), """
                {"cniVersion":"1.0.0","name":"k8s-pod-network","plugins":[
                  {"type":"bridge","bridge":"cni0","isDefaultGateway":true,"ipMasq":false,
                   "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]],"dataDir":"%s"}}]}
                """.formatted(dir.resolve("ipam")));

        Path socket = dir.resolve("run/cni.sock");
        Path enrolled = dir.resolve("state/enrolled-namespaces");
        Path mesh = Files.writeString(
                dir.resolve("mesh.yaml"),
                """
                apiVersion: v1
                kind: Namespace
                metadata: {name: shop, labels: {ferry.dev/mesh: enabled}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: web-1, namespace: shop, uid: 7f0c0b1e-0001, labels: {app: web}}
                spec: {nodeName: node-1, serviceAccountName: web, containers: [{name: c, image: i}]}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: legacy-1, namespace: shop, uid: 7f0c0b1e-0002}
                spec: {nodeName: node-1, serviceAccountName: web, containers: [{name: c, image: i}]}
                status: {phase: Running, podIP: 10.244.1.99}
                """); // web-1 has no IP yet: at ADD the control plane does not know it; legacy-1 ran before
        Path kubelet = KubeletCgroupFixture.create();
        try (Netns node = new Netns("ferry-node");
                Netns pod = new Netns("ferry-pod");
                AgentFixture agent = new AgentFixture(
                        "epoll",
                        mesh,
                        Map.of(
                                "FERRY_POD_EVENT_SOCKET",
                                socket.toString(),
                                "FERRY_ENROLLED_NAMESPACES_FILE",
                                enrolled.toString(),
                                "FERRY_PROBE_SNAT",
                                "kubelet",
                                "FERRY_KUBELET_CGROUP",
                                KubeletCgroupFixture.relative(kubelet),
                                "FERRY_HOST_NETNS",
                                "/run/netns/" + node.name(),
                                "FERRY_TEST_REAL_ORIGINAL_DST",
                                "true",
                                "FERRY_CNI_CONF_DIR",
                                confDir.toString(),
                                "FERRY_CNI_MODE",
                                "chain"))) {
            // the agent chained itself into the primary's file (and keeps it there)
            Path chained = confDir.resolve("10-bridge.conflist");
            assertThat(ConflistInstaller.chainedLast(chained)).isTrue();
            JsonNode conflist = JSON.readTree(Files.readString(chained));
            CniDriver cni = new CniDriver(node, binDir);
            Path netns = Path.of("/run/netns", pod.name());
            CniDriver.Result add = cni.add(conflist, "c-web-1", netns, "shop", "web-1", "7f0c0b1e-0001");
            assertThat(add.code()).as(add.stdout()).isZero();
            JsonNode result = JSON.readTree(add.stdout());
            String ip = result.path("ips").get(0).path("address").asString();
            assertThat(ip).startsWith("10.244.1.");
            assertThat(pod.exec("ip", "-4", "addr", "show", "eth0")).contains(ip);
            assertThat(node.exec("ip", "link", "show", "cni0")).contains("cni0");
            assertThat(pod.exec("nft", "list", "table", "inet", "ferry")).contains("redirect to :15001");
            assertThat(pod.exec("ss", "-Hltn")).contains(":15001").contains(":15006");
            // legacy-1 was running before its namespace was enrolled: reported, not captured
            String scrape = agent.scrape();
            assertThat(PromText.sum(scrape, "ferry_pods", Map.of("state", "captured")))
                    .isEqualTo(1);
            assertThat(PromText.sum(scrape, "ferry_pods", Map.of("state", "uncaptured")))
                    .isEqualTo(1);
            String bare = ip.substring(0, ip.indexOf('/'));

            // CHECK verifies what is in the pod: whole → success; a flushed table → code 11 naming what is missing
            assertThat(cni.check(conflist, "c-web-1", netns, "shop", "web-1", "7f0c0b1e-0001", result)
                            .code())
                    .isZero();

            // Kubelet probes: from the kubelet's cgroup they reach the app directly with the probe address;
            // anything else on the node (a hostNetwork pod, say) goes through the agent like any client.
            Nginx.startWhoAmI(pod, Files.createDirectories(dir.resolve("web")), bare, 8080);
            assertThat(node.exec("nft", "list", "table", "ip", "ferry-host")).contains(bare);
            // the control plane publishes the pod's IP (the agent routes inbound by it)
            Files.writeString(
                    mesh,
                    Files.readString(mesh)
                            .replace(
                                    "containers: [{name: c, image: i}]}",
                                    "containers: [{name: c, image: i}]}\nstatus: {phase: Running, podIP: " + bare
                                            + "}"));
            long deadline = System.nanoTime() + 15_000_000_000L;
            while (agent.agent
                    .snapshot()
                    .workloadByIp(java.net.InetAddress.getByName(bare))
                    .isEmpty()) {
                assertThat(System.nanoTime()).as("agent sees the pod IP").isLessThan(deadline);
                Thread.sleep(50);
            }
            double viaAgent = inboundConnections(agent);
            String probe = KubeletCgroupFixture.run(
                    kubelet, node, "curl", "-sS", "--max-time", "5", "http://" + bare + ":8080/");
            assertThat(probe).isEqualTo("hello from web, you are 169.254.7.127");
            assertThat(inboundConnections(agent))
                    .as("the probe bypassed the agent")
                    .isEqualTo(viaAgent);
            String hostNetworkPod = node.exec("curl", "-sS", "--max-time", "5", "http://" + bare + ":8080/");
            assertThat(hostNetworkPod).isEqualTo("hello from web, you are 10.244.1.1");
            assertThat(inboundConnections(agent)).isEqualTo(viaAgent + 1);
            // STRICT mTLS (mesh-wide): plaintext through the agent is refused, kubelet probes still reach the app
            Files.writeString(mesh, Files.readString(mesh) + """
                            ---
                            apiVersion: security.istio.io/v1
                            kind: PeerAuthentication
                            metadata: {name: default, namespace: istio-system}
                            spec: {mtls: {mode: STRICT}}
                            """);
            long strictDeadline = System.nanoTime() + 15_000_000_000L;
            while (agent.agent.snapshot().peerAuthentications().isEmpty()) {
                assertThat(System.nanoTime()).as("STRICT loaded").isLessThan(strictDeadline);
                Thread.sleep(20);
            }
            assertThat(KubeletCgroupFixture.run(
                            kubelet, node, "curl", "-sS", "--max-time", "5", "http://" + bare + ":8080/"))
                    .isEqualTo("hello from web, you are 169.254.7.127");
            assertThat(node.exec("sh", "-c", "curl -sS --max-time 5 http://" + bare + ":8080/ 2>&1 || true"))
                    .doesNotContain("hello");
            assertThat(PromText.sum(
                            agent.scrape(),
                            "ferry_authz_decisions_total",
                            Map.of("decision", "deny", "policy", "istio-system/default")))
                    .isEqualTo(1);
            // a pod forging the probe address is dropped at the node
            assertThat(node.exec("nft", "list", "chain", "ip", "ferry-host", "drop-spoofed-probes"))
                    .contains("ip saddr 169.254.7.127 drop");

            pod.exec("nft", "delete", "table", "inet", "ferry");
            CniDriver.Result broken = cni.check(conflist, "c-web-1", netns, "shop", "web-1", "7f0c0b1e-0001", result);
            assertThat(broken.code()).isNotZero();
            assertThat(broken.stdout()).contains("\"code\":11").contains("no redirect to :15001");

            // an unenrolled namespace's pod goes through the same chain untouched
            Netns other = new Netns("ferry-pod2");
            try {
                CniDriver.Result plain =
                        cni.add(conflist, "c-x", Path.of("/run/netns", other.name()), "kube-system", "dns", "u9");
                assertThat(plain.code()).as(plain.stdout()).isZero();
                assertThat(other.exec("sh", "-c", "nft list table inet ferry 2>&1 || true"))
                        .doesNotContain("redirect");
                assertThat(cni.del(conflist, "c-x", Path.of("/run/netns", other.name()), "kube-system", "dns", "u9")
                                .code())
                        .isZero();
            } finally {
                other.close();
            }

            assertThat(cni.del(conflist, "c-web-1", netns, "shop", "web-1", "7f0c0b1e-0001")
                            .code())
                    .isZero();
            assertThat(pod.exec("ss", "-Hltn")).doesNotContain(":15001");
            assertThat(node.exec("nft", "list", "table", "ip", "ferry-host")).doesNotContain(bare);
        } finally {
            KubeletCgroupFixture.remove(kubelet);
        }
    }

    @Test
    void agentDownAddFailsWithCode11AndLeavesNoRulesWhileUnenrolledPodsStart() throws Exception {
        Path confDir = Files.createDirectories(dir.resolve("net.d"));
        Path binDir = CniDriver.pluginDir(dir);
        Files.writeString(confDir.resolve("10-bridge.conflist"), """
                {"cniVersion":"0.4.0","name":"k8s-pod-network","plugins":[
                  {"type":"bridge","bridge":"cni0","isDefaultGateway":true,"ipMasq":false,
                   "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]],"dataDir":"%s"}}]}
                """.formatted(dir.resolve("ipam")));
        Path enrolled = Files.writeString(
                Files.createDirectories(dir.resolve("state")).resolve("enrolled-namespaces"), "shop\n");
        // install-cni (the init container) in the default own mode, as after a reboot: no agent listens yet
        NodeConfig config = NodeConfigLoader.load(
                null,
                Map.of(
                        "FERRY_NODE_NAME", "node-1",
                        "FERRY_POD_EVENT_SOCKET", dir.resolve("run/cni.sock").toString(),
                        "FERRY_ENROLLED_NAMESPACES_FILE", enrolled.toString(),
                        "FERRY_CNI_CONF_DIR", confDir.toString()));
        CniInstall.install(config, Path.of(System.getProperty("ferry.cni.binary")), binDir);
        assertThat(Files.isSymbolicLink(binDir.resolve("ferry-cni")))
                .as("copied, not linked")
                .isFalse();
        JsonNode conflist = JSON.readTree(Files.readString(confDir.resolve(ConflistInstaller.OWNED_NAME)));
        try (Netns node = new Netns("ferry-node");
                Netns meshed = new Netns("ferry-pod");
                Netns system = new Netns("ferry-pod")) {
            CniDriver cni = new CniDriver(node, binDir);
            Path meshedNs = Path.of("/run/netns", meshed.name());
            CniDriver.Result add = cni.add(conflist, "c-web", meshedNs, "shop", "web-1", "u1");
            assertThat(add.code()).isNotZero();
            JsonNode error = JSON.readTree(add.stdout());
            assertThat(error.path("code").asInt()).as(add.stdout()).isEqualTo(11);
            assertThat(meshed.exec("sh", "-c", "nft list table inet ferry 2>&1 || true"))
                    .as("no Ferry rules in a pod whose ADD failed")
                    .doesNotContain("redirect");
            // the runtime cleans up a failed ADD with DEL, which succeeds with the agent down
            assertThat(cni.del(conflist, "c-web", meshedNs, "shop", "web-1", "u1")
                            .code())
                    .isZero();

            Path systemNs = Path.of("/run/netns", system.name());
            CniDriver.Result dns = cni.add(conflist, "c-dns", systemNs, "kube-system", "coredns-1", "u2");
            assertThat(dns.code()).as(dns.stdout()).isZero();
            assertThat(JSON.readTree(dns.stdout())
                            .path("ips")
                            .get(0)
                            .path("address")
                            .asString())
                    .startsWith("10.244.1.");
            assertThat(cni.del(conflist, "c-dns", systemNs, "kube-system", "coredns-1", "u2")
                            .code())
                    .isZero();
        }
    }

    private static double inboundConnections(AgentFixture agent) throws Exception {
        return PromText.sum(agent.scrape(), "istio_tcp_connections_opened_total", Map.of("reporter", "destination"));
    }
}
