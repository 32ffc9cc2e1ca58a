package dev.ferry.cni.install;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

class ConflistInstallerTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    Path conf;

    private ConflistInstaller installer;

    @BeforeEach
    void setUp() {
        ObjectNode ferry = JSON.createObjectNode();
        ferry.put("agentSocket", "/var/run/ferry/cni.sock");
        installer = new ConflistInstaller(conf, ferry);
    }

    private static final String BRIDGE_CONFLIST = """
            {"cniVersion":"1.0.0","name":"k8s-pod-network","plugins":[
              {"type":"bridge","bridge":"cni0","isGateway":true,"ipMasq":false,
               "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]]}},
              {"type":"portmap","capabilities":{"portMappings":true}}]}
            """;

    @Test
    void appendsFerryLastIdempotently() throws Exception {
        Files.writeString(conf.resolve("10-bridge.conflist"), BRIDGE_CONFLIST);
        Path chained = installer.chain();
        installer.chain();
        JsonNode plugins = JSON.readTree(Files.readString(chained)).path("plugins");
        assertThat(plugins).hasSize(3);
        assertThat(plugins.get(0).path("type").asString()).isEqualTo("bridge");
        assertThat(plugins.get(2).path("type").asString()).isEqualTo("ferry-cni");
        assertThat(plugins.get(2).path("agentSocket").asString()).isEqualTo("/var/run/ferry/cni.sock");
        assertThat(ConflistInstaller.chainedLast(chained)).isTrue();
    }

    @Test
    void turnsAConfIntoAConflist() throws Exception {
        Files.writeString(conf.resolve("10-flannel.conf"), """
                {"cniVersion":"0.3.1","name":"cbr0","type":"flannel","delegate":{"isDefaultGateway":true}}
                """);
        Path chained = installer.chain();
        assertThat(chained.getFileName().toString()).isEqualTo("10-flannel.conflist");
        assertThat(conf.resolve("10-flannel.conf")).doesNotExist();
        JsonNode doc = JSON.readTree(Files.readString(chained));
        assertThat(doc.path("cniVersion").asString()).isEqualTo("0.3.1");
        assertThat(doc.path("name").asString()).isEqualTo("cbr0");
        assertThat(doc.path("plugins").get(0).path("type").asString()).isEqualTo("flannel");
        assertThat(doc.path("plugins").get(0).has("cniVersion")).isFalse();
        assertThat(doc.path("plugins").get(1).path("type").asString()).isEqualTo("ferry-cni");
    }

    @Test
    void reinsertsAfterThePrimaryRewritesItsFile() throws Exception {
        Path file = conf.resolve("10-bridge.conflist");
        Files.writeString(file, BRIDGE_CONFLIST);
        installer.chain();
        Files.writeString(file, BRIDGE_CONFLIST); // the primary CNI restarts and rewrites its config
        assertThat(ConflistInstaller.chainedLast(file)).isFalse();
        installer.chain();
        assertThat(ConflistInstaller.chainedLast(file)).isTrue();
    }

    @Test
    void ownedConfigSortsFirstAndSurvivesThePrimaryRewriting() throws Exception {
        Path primary = conf.resolve("10-bridge.conflist");
        Files.writeString(primary, BRIDGE_CONFLIST);
        Path owned = installer.own();
        assertThat(owned.getFileName().toString()).isEqualTo("00-ferry.conflist");
        Files.writeString(primary, BRIDGE_CONFLIST); // rewritten after a reboot, Ferry not back yet
        try (var names = Files.list(conf)) {
            assertThat(names.map(p -> p.getFileName().toString()).sorted().findFirst())
                    .contains("00-ferry.conflist");
        }
        assertThat(ConflistInstaller.chainedLast(owned)).isTrue();
        assertThat(installer.primary()).contains(primary); // the owned file is never taken for the primary
    }

    @Test
    void uninstallRemovesFerryOnly() throws Exception {
        Path primary = conf.resolve("10-bridge.conflist");
        Files.writeString(primary, BRIDGE_CONFLIST);
        installer.chain();
        installer.own();
        installer.uninstall();
        assertThat(conf.resolve("00-ferry.conflist")).doesNotExist();
        assertThat(JSON.readTree(Files.readString(primary))).isEqualTo(JSON.readTree(BRIDGE_CONFLIST));
    }

    @Test
    void brokenOrMissingPrimaryIsAClearError() throws Exception {
        assertThatThrownBy(installer::chain).hasMessageContaining("no primary CNI config");
        Files.writeString(conf.resolve("10-bad.conflist"), "{not json");
        assertThatThrownBy(installer::chain).hasMessageContaining("10-bad.conflist is not JSON");
    }

    @Test
    void watcherReinsertsFerryWhenThePrimaryRewritesItsFile() throws Exception {
        Path primary = conf.resolve("10-bridge.conflist");
        Files.writeString(primary, BRIDGE_CONFLIST);
        try (ConflistWatcher w =
                ConflistWatcher.start(installer, ConflistInstaller.Mode.CHAIN, conf, Duration.ofMillis(200))) {
            assertThat(ConflistInstaller.chainedLast(primary)).isTrue();
            Files.writeString(primary, BRIDGE_CONFLIST); // the primary CNI restarts and writes its own file back
            awaitChainedLast(primary);
            Files.writeString(primary, "{\"cniVersion\":"); // caught half-written: reported, retried
            Thread.sleep(300);
            Files.writeString(primary, BRIDGE_CONFLIST);
            awaitChainedLast(primary);
            assertThat(JSON.readTree(Files.readString(primary)).path("plugins")).hasSize(3);
        }
        assertThat(installer.ensure(ConflistInstaller.Mode.CHAIN))
                .as("nothing left to do")
                .isFalse();
    }

    @Test
    void ownModeFollowsThePrimaryAsItChanges() throws Exception {
        Path primary = conf.resolve("10-bridge.conflist");
        Files.writeString(primary, BRIDGE_CONFLIST);
        Path owned = conf.resolve(ConflistInstaller.OWNED_NAME);
        try (ConflistWatcher w =
                ConflistWatcher.start(installer, ConflistInstaller.Mode.OWN, conf, Duration.ofMillis(200))) {
            assertThat(types(owned)).containsExactly("bridge", "portmap", "ferry-cni");
            Files.writeString(
                    primary,
                    BRIDGE_CONFLIST.replace(
                            "{\"type\":\"portmap\"", "{\"type\":\"bandwidth\"}, {\"type\":\"portmap\""));
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!types(owned).contains("bandwidth")) {
                assertThat(System.nanoTime())
                        .as("owned conflist follows the primary")
                        .isLessThan(deadline);
                Thread.sleep(50);
            }
            assertThat(types(owned)).containsExactly("bridge", "bandwidth", "portmap", "ferry-cni");
            assertThat(ConflistInstaller.chainedLast(primary))
                    .as("the primary's file is left alone")
                    .isFalse();
        }
    }

    @Test
    void pluginBinaryIsReplacedAtomicallyAndExecutable() throws Exception {
        Path src = Files.writeString(conf.resolve("build-ferry-cni"), "#!/bin/true\nv2\n");
        Path bin = conf.resolve("bin");
        Files.createDirectories(bin);
        Files.writeString(bin.resolve("ferry-cni"), "v1");
        Path installed = PluginBinary.install(src, bin);
        assertThat(Files.readString(installed)).endsWith("v2\n");
        assertThat(Files.isExecutable(installed)).isTrue();
        try (var files = Files.list(bin)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("ferry-cni");
        }
        assertThatThrownBy(() -> PluginBinary.install(conf.resolve("missing"), bin))
                .hasMessageContaining("does not exist");
    }

    private static void awaitChainedLast(Path conflist) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            try {
                if (ConflistInstaller.chainedLast(conflist)) {
                    return;
                }
            } catch (java.io.IOException e) {
                // half-written by the test; look again
            }
            assertThat(System.nanoTime()).as("Ferry re-inserted").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static java.util.List<String> types(Path conflist) throws Exception {
        java.util.List<String> out = new java.util.ArrayList<>();
        JSON.readTree(Files.readString(conflist))
                .path("plugins")
                .forEach(p -> out.add(p.path("type").asString()));
        return out;
    }
}
