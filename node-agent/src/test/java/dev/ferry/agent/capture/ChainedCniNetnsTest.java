package dev.ferry.agent.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.CniDriver;
import dev.ferry.agent.support.Netns;
import dev.ferry.cni.install.ConflistInstaller;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

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
                  {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,
                   "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]],"dataDir":"%s"}}]}
                """.formatted(dir.resolve("ipam")));

        Path socket = dir.resolve("run/cni.sock");
        Path enrolled = dir.resolve("state/enrolled-namespaces");
        ObjectNode ferry = JSON.createObjectNode();
        ferry.put("agentSocket", socket.toString());
        ferry.put("enrolledNamespacesFile", enrolled.toString());
        Path chained = new ConflistInstaller(confDir, ferry).chain();
        JsonNode conflist = JSON.readTree(Files.readString(chained));

        Path mesh = Files.writeString(
                dir.resolve("mesh.yaml"), """
                apiVersion: v1
                kind: Namespace
                metadata: {name: shop, labels: {ferry.dev/mesh: enabled}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: web-1, namespace: shop, uid: 7f0c0b1e-0001, labels: {app: web}}
                spec: {nodeName: node-1, serviceAccountName: web, containers: [{name: c, image: i}]}
                """); // no IP yet: at ADD the control plane does not know it
        try (Netns node = new Netns("ferry-node");
                Netns pod = new Netns("ferry-pod");
                AgentFixture agent = new AgentFixture(
                        "epoll",
                        mesh,
                        Map.of(
                                "FERRY_POD_EVENT_SOCKET", socket.toString(),
                                "FERRY_ENROLLED_NAMESPACES_FILE", enrolled.toString()))) {
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
        }
    }
}
