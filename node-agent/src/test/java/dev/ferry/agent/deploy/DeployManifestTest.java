package dev.ferry.agent.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.capture.CniInstall;
import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.config.NodeConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * deploy/daemonset.yaml, read as YAML: its node config loads, every path that config names is mounted where the agent
 * and the plugin on the host expect it, and the pod is locked down as the README says. (KubernetesSourceTest applies
 * it to a real API server; ContainerImageIT runs the image the way it does.)
 */
class DeployManifestTest {
    private static final Path MANIFEST = Path.of("..", "deploy", "daemonset.yaml");

    @TempDir
    Path dir;

    private final Map<String, JsonNode> byKind = new HashMap<>();
    private NodeConfig config;
    private JsonNode pod;
    private JsonNode agent;

    @BeforeEach
    void load() throws Exception {
        try (var docs = new YAMLMapper()
                .readValues(new YAMLMapper().createParser(Files.readString(MANIFEST)), JsonNode.class)) {
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                byKind.put(
                        doc.path("kind").asString() + "/"
                                + doc.path("metadata").path("name").asString(),
                        doc);
            }
        }
        String nodeYaml = byKind.get("ConfigMap/ferry-node")
                .path("data")
                .path("node.yaml")
                .asString();
        config =
                NodeConfigLoader.load(Files.writeString(dir.resolve("node.yaml"), nodeYaml), Map.of("NODE_NAME", "n1"));
        pod = byKind.get("DaemonSet/ferry-agent").path("spec").path("template").path("spec");
        agent = pod.path("containers").get(0);
    }

    @Test
    void agentStaysOffHostNetworkAndUpgradesWithOverlap() {
        assertThat(pod.path("hostNetwork").asBoolean(false)).isFalse();
        JsonNode rolling = byKind.get("DaemonSet/ferry-agent")
                .path("spec")
                .path("updateStrategy")
                .path("rollingUpdate");
        assertThat(rolling.path("maxSurge").asInt())
                .as("new agent before the old one stops")
                .isEqualTo(1);
        assertThat(rolling.path("maxUnavailable").asInt()).isZero();
        assertThat(pod.path("terminationGracePeriodSeconds").asLong())
                .isGreaterThan(config.drainTimeout().toSeconds());
        assertThat(agent.path("readinessProbe").path("httpGet").path("port").asInt())
                .isEqualTo(config.readinessPort());
        assertThat(agent.path("readinessProbe").path("httpGet").path("path").asString())
                .isEqualTo("/healthz/ready");
        assertThat(agent.path("securityContext").path("privileged").asBoolean(false))
                .isFalse();
    }

    @Test
    void theAgentRunsWithThreeCapabilitiesAReadOnlyRootAndTheBuiltImage() {
        JsonNode sc = agent.path("securityContext");
        assertThat(sc.path("capabilities").path("add").valueStream().map(JsonNode::asString))
                .containsExactlyInAnyOrder("NET_ADMIN", "SYS_ADMIN", "NET_RAW");
        assertThat(sc.path("capabilities").path("drop").valueStream().map(JsonNode::asString))
                .containsExactly("ALL");
        assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(pod.path("priorityClassName").asString()).isEqualTo("system-node-critical");
        JsonNode annotations = byKind.get("DaemonSet/ferry-agent")
                .path("spec")
                .path("template")
                .path("metadata")
                .path("annotations");
        assertThat(annotations.path("prometheus.io/port").asString()).isEqualTo(String.valueOf(config.metricsPort()));
        assertThat(annotations.path("prometheus.io/scrape").asString()).isEqualTo("true");
        JsonNode init = pod.path("initContainers").get(0);
        assertThat(init.path("securityContext")
                        .path("capabilities")
                        .path("drop")
                        .get(0)
                        .asString())
                .isEqualTo("ALL");
        assertThat(init.path("securityContext").path("capabilities").has("add")).isFalse();
        assertThat(init.path("securityContext").path("readOnlyRootFilesystem").asBoolean())
                .isTrue();
        for (JsonNode c : List.of(agent, init)) {
            // the name deploy/image/build.sh gives the image, and java from its PATH
            assertThat(c.path("image").asString()).isEqualTo("ferry/agent:0.1.0");
            assertThat(c.path("command").get(0).asString()).isEqualTo("java");
            assertThat(mountOf(c, "/tmp").path("name").asString()).isEqualTo("tmp");
        }
        assertThat(agent.path("command").valueStream().map(JsonNode::asString))
                .as("the image's flags and its trained AOT cache (deploy/image/build.sh)")
                .containsSubsequence("@/opt/ferry/jvm.options", "-XX:AOTCache=/opt/ferry/ferry-agent.aot", "-jar");
        assertThat(byKind.keySet()).noneMatch(k -> k.startsWith("PodDisruptionBudget/"));
    }

    @Test
    void pathsThePluginUsesOnTheHostAreMountedAtTheSamePath() {
        // The plugin entry carries the agent's view of these paths; the plugin runs on the host.
        JsonNode entry = CniInstall.ferryEntry(config);
        for (String hostSide : List.of(
                entry.path("agentSocket").asString(),
                entry.path("enrolledNamespacesFile").asString())) {
            Path parent = Path.of(hostSide).getParent();
            assertThat(hostPathMountedAt(agent, parent.toString()))
                    .as(hostSide + " must be the same path on the host and in the container")
                    .isEqualTo(parent.toString());
        }
        assertThat(hostPathMountedAt(agent, config.stateDir())).isEqualTo(config.stateDir());
        assertThat(hostPathMountedAt(agent, "/var/run/netns")).isEqualTo("/var/run/netns");
        assertThat(hostPathMountedAt(agent, "/sys/fs/cgroup"))
                .as("nft resolves cgroup paths there")
                .isEqualTo("/sys/fs/cgroup");
        assertThat(hostPathMountedAt(agent, config.cniConfDir())).isEqualTo("/etc/cni/net.d");
        // hostNetns is /host/proc/1/ns/net: /host/proc is the host's /proc
        assertThat(config.hostNetns()).startsWith("/host/proc/");
        assertThat(hostPathMountedAt(agent, "/host/proc")).isEqualTo("/proc");
    }

    @Test
    void initContainerInstallsThePluginWithTheSameConfig() {
        JsonNode init = pod.path("initContainers").get(0);
        List<String> cmd = new ArrayList<>();
        init.path("command").forEach(c -> cmd.add(c.asString()));
        assertThat(cmd).contains("install-cni", "--config", "/etc/ferry/node.yaml");
        String binDir = cmd.get(cmd.indexOf("--cni-bin-dir") + 1);
        assertThat(hostPathMountedAt(init, binDir)).isEqualTo("/opt/cni/bin");
        assertThat(hostPathMountedAt(init, config.cniConfDir())).isEqualTo("/etc/cni/net.d");
        assertThat(mountOf(init, "/etc/ferry/node.yaml").path("name").asString())
                .isEqualTo(mountOf(agent, "/etc/ferry/node.yaml").path("name").asString());
    }

    @Test
    void rbacIsReadOnlyButForMarkingPods() {
        for (JsonNode rule : byKind.get("ClusterRole/ferry-agent").path("rules")) {
            boolean podsOnly = rule.path("resources").size() == 1
                    && rule.path("resources").get(0).asString().equals("pods");
            rule.path("verbs").forEach(v -> {
                if (podsOnly && v.asString().equals("patch")) {
                    return; // the captured-pod annotation
                }
                assertThat(v.asString()).isIn("get", "list", "watch");
            });
        }
    }

    private static JsonNode mountOf(JsonNode container, String mountPath) {
        for (JsonNode m : container.path("volumeMounts")) {
            if (m.path("mountPath").asString().equals(mountPath)) {
                return m;
            }
        }
        throw new AssertionError(container.path("name").asString() + " mounts nothing at " + mountPath);
    }

    /** The host path of the hostPath volume mounted at {@code mountPath}. */
    private String hostPathMountedAt(JsonNode container, String mountPath) {
        String volume = mountOf(container, mountPath).path("name").asString();
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asString().equals(volume)) {
                return v.path("hostPath").path("path").asString("(not a hostPath)");
            }
        }
        throw new AssertionError("no volume " + volume);
    }
}
