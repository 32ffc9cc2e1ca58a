package dev.ferry.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeConfigLoaderTest {
    @TempDir
    Path dir;

    @Test
    void defaultsThenFileThenEnvironment() throws Exception {
        Path f = dir.resolve("node.yaml");
        Files.writeString(f, """
                nodeName: node-a
                idleTimeout: 10m
                maxConnections: 100
                transport: epoll
                """);
        NodeConfig c = NodeConfigLoader.load(f, Map.of("FERRY_MAX_CONNECTIONS", "50"));
        assertThat(c.nodeName()).isEqualTo("node-a");
        assertThat(c.idleTimeout()).isEqualTo(Duration.ofMinutes(10));
        assertThat(c.maxConnections()).as("env wins over the file").isEqualTo(50);
        assertThat(c.transport()).isEqualTo(NodeConfig.TransportKind.EPOLL);
        assertThat(c.outboundPort()).isEqualTo(15001);
        assertThat(c.drainTimeout()).isEqualTo(Duration.ofSeconds(25));
        assertThat(c.unknownDestination()).isEqualTo(NodeConfig.UnknownDestination.PASSTHROUGH);
        assertThat(c.hboneOutbound()).isEqualTo(NodeConfig.HboneOutbound.AUTO);
        assertThat(c.meshSource()).isEqualTo(NodeConfig.MeshSourceKind.FILE);
    }

    @Test
    void hboneOutboundAndMeshSourceSpellings() throws Exception {
        assertThat(NodeConfigLoader.load(null, Map.of("FERRY_HBONE_OUTBOUND", "true"))
                        .hboneOutbound())
                .isEqualTo(NodeConfig.HboneOutbound.ALWAYS);
        assertThat(NodeConfigLoader.load(null, Map.of("FERRY_HBONE_OUTBOUND", "false"))
                        .hboneOutbound())
                .isEqualTo(NodeConfig.HboneOutbound.OFF);
        assertThat(NodeConfigLoader.load(null, Map.of("FERRY_MESH_SOURCE", "kubernetes"))
                        .meshSource())
                .isEqualTo(NodeConfig.MeshSourceKind.KUBERNETES);
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_HBONE_OUTBOUND", "maybe")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("hboneOutbound")
                .hasMessageContaining("expected auto, true or false");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_MESH_SOURCE", "etcd")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("meshSource");
    }

    @Test
    void everyKeyHasAnEnvironmentName() {
        assertThat(NodeConfigLoader.KEYS)
                .extracting(NodeConfigLoader.Key::env)
                .contains("FERRY_NODE_NAME", "FERRY_MAX_CONNECTIONS_PER_WORKLOAD", "FERRY_IDLE_TIMEOUT")
                .doesNotHaveDuplicates();
        assertThat(NodeConfigLoader.KEYS).hasSize(NodeConfig.class.getRecordComponents().length);
    }

    @Test
    void unknownKeyIsAnErrorNamingIt() throws Exception {
        Path f = dir.resolve("node.yaml");
        Files.writeString(f, "idleTimeot: 5s\n");
        assertThatThrownBy(() -> NodeConfigLoader.load(f, Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown key 'idleTimeot'");
    }

    @Test
    void badValuesNameTheKeyAndWhereTheyCameFrom() {
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_IDLE_TIMEOUT", "soon")))
                .hasMessageContaining("idleTimeout = 'soon' (from env FERRY_IDLE_TIMEOUT)");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_OUTBOUND_PORT", "70000")))
                .hasMessageContaining("outboundPort");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_TRANSPORT", "dpdk")))
                .hasMessageContaining("transport = 'dpdk'");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_CAPTURE_ADDRESS", "localhost")))
                .hasMessageContaining("IP literal");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_CONNECT_TIMEOUT", "0s")))
                .hasMessageContaining("greater than zero");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_POD_CIDRS", "10.244.1.0/33")))
                .hasMessageContaining("podCidrs");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_POD_CIDRS", "pods.example.com/24")))
                .hasMessageContaining("not a CIDR");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_ACCESS_LOG", "yes")))
                .hasMessageContaining("true or false");
        // the cgroup path goes into an nft rule: quotes, spaces and parent references are refused
        for (String bad : new String[] {"system.slice/kubelet.service\" accept", "a b", "../../etc", ""}) {
            assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_KUBELET_CGROUP", bad)))
                    .hasMessageContaining("kubeletCgroup");
        }
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_PROBE_ADDRESS", "fe80::7")))
                .hasMessageContaining("IPv4");
        assertThatThrownBy(() -> NodeConfigLoader.load(null, Map.of("FERRY_PROBE_SNAT", "everyone")))
                .hasMessageContaining("probeSnat = 'everyone'");
    }

    @Test
    void fileThatIsNotAMappingIsRefused() throws Exception {
        Path f = dir.resolve("node.yaml");
        Files.writeString(f, "- a\n- b\n");
        assertThatThrownBy(() -> NodeConfigLoader.load(f, Map.of())).hasMessageContaining("must be a mapping");
        Files.writeString(f, "nodeName: [x\n");
        assertThatThrownBy(() -> NodeConfigLoader.load(f, Map.of())).hasMessageContaining("cannot read");
    }

    @Test
    void durationsAcceptOperatorAndIsoForms() {
        assertThat(Durations.parse("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(Durations.parse("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(Durations.parse("PT30S")).isEqualTo(Duration.ofSeconds(30));
        assertThatThrownBy(() -> Durations.parse("5 s")).isInstanceOf(IllegalArgumentException.class);
    }
}
