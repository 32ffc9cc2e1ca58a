package dev.ferry.agent.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.CniDriver;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.Nginx;
import dev.ferry.agent.support.Podman;
import dev.ferry.agent.support.PromText;
import dev.ferry.agent.support.ShopMesh;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The container image, built by the test suite with {@code deploy/image/build.sh} exactly as {@code make image} builds
 * it, and the agent running from it under a real runtime (podman + crun) the way the DaemonSet runs it: the install
 * step from the image, then the agent with only NET_ADMIN, SYS_ADMIN and NET_RAW, a read-only root filesystem, the
 * DaemonSet's host mounts mapped onto the simulated node's folders, in a network namespace of its own (no
 * hostNetwork). Pods created through the real CNI chain of that node (the conflist the containerised agent wrote) are
 * captured by it; a request between two of them goes over HBONE; a rolling replacement of the container refuses no
 * request. Root only; about a minute.
 */
class ContainerImageIT {
    private static final Logger log = LoggerFactory.getLogger(ContainerImageIT.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String IMAGE = "localhost/ferry/agent:0.1.0";
    /** The jlinked runtime's modules: those build.sh names and what they require. */
    private static final Set<String> MODULES = Set.of(
            "java.base",
            "java.logging",
            "java.security.sasl",
            "java.transaction.xa",
            "java.xml",
            "java.management",
            "java.naming",
            "java.net.http",
            "java.sql",
            "jdk.httpserver",
            "jdk.jfr",
            "jdk.management",
            "jdk.unsupported");

    @TempDir
    static Path dir;

    private static Path archive;

    @BeforeAll
    static void buildImage() throws Exception {
        archive = build(dir.resolve("a/ferry-agent.oci.tar"));
    }

    private static Path build(Path out) throws IOException, InterruptedException {
        return build(out, true);
    }

    /** @param aot whether the image carries its trained AOT cache (a fourth layer, the one not reproducible) */
    private static Path build(Path out, boolean aot) throws IOException, InterruptedException {
        Path jar = Path.of(System.getProperty("ferry.agent.jar"));
        Path repo = jar.toAbsolutePath().getParent().getParent().getParent();
        ProcessBuilder pb = new ProcessBuilder(
                        "bash",
                        repo.resolve("deploy/image/build.sh").toString(),
                        jar.toString(),
                        System.getProperty("ferry.cni.binary"),
                        out.toString())
                .redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("FERRY_IMAGE_AOT", aot ? "1" : "0");
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        log.info("image build: {}", output.trim().replace('\n', ' '));
        return out;
    }

    @Test
    void theImageIsReproducibleAndCarriesOnlyWhatTheAgentUses() throws Exception {
        Path again = build(dir.resolve("b/ferry-agent.oci.tar"), false);
        Path againLayout = Files.createDirectories(dir.resolve("layout-b"));
        exec("tar", "-xf", again.toString(), "-C", againLayout.toString());
        JsonNode againConfig = config(againLayout);

        Path layout = Files.createDirectories(dir.resolve("layout"));
        exec("tar", "-xf", archive.toString(), "-C", layout.toString());
        JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
        JsonNode manifest =
                JSON.readTree(blob(layout, index.path("manifests").get(0)).toFile());
        JsonNode config = JSON.readTree(blob(layout, manifest.path("config")).toFile());
        List<String> layers = config.path("rootfs")
                .path("diff_ids")
                .valueStream()
                .map(JsonNode::asString)
                .toList();
        assertThat(layers).hasSize(4);
        assertThat(againConfig
                        .path("rootfs")
                        .path("diff_ids")
                        .valueStream()
                        .map(JsonNode::asString)
                        .toList())
                .as("same inputs, same os, jre and app layers (the fourth, the AOT cache, is a training run's output)")
                .isEqualTo(layers.subList(0, 3));
        assertThat(config.path("config").path("Cmd").valueStream().map(JsonNode::asString))
                .contains("-XX:AOTCache=/opt/ferry/ferry-agent.aot");
        assertThat(againConfig.path("config").path("Cmd").valueStream().map(JsonNode::asString))
                .noneMatch(a -> a.startsWith("-XX:AOTCache"));
        assertThat(config.path("config").path("User").asString()).isEqualTo("0:0");
        Set<String> entries = new TreeSet<>();
        Path rootfs = Files.createDirectories(dir.resolve("rootfs"));
        for (JsonNode layer : manifest.path("layers")) {
            Path tgz = blob(layout, layer);
            entries.addAll(Arrays.asList(exec("tar", "-tzf", tgz.toString()).split("\n")));
            exec("tar", "-xzf", tgz.toString(), "-C", rootfs.toString());
        }
        assertThat(entries)
                .contains(
                        "./opt/ferry/jre/bin/java",
                        "./opt/ferry/ferry-agent.jar",
                        "./opt/ferry/ferry-agent.aot",
                        "./opt/ferry/bin/ferry-cni",
                        "./lib64/ld-linux-x86-64.so.2",
                        "./lib/x86_64-linux-gnu/libc.so.6",
                        "./lib/x86_64-linux-gnu/libnftables.so.1",
                        "./usr/share/doc/libnftables1/copyright");
        List<String> executables = entries.stream()
                .filter(e -> e.matches(".*/s?bin/[^/]+") && !e.startsWith("./opt/ferry/"))
                .toList();
        assertThat(executables)
                .as("no shell, no tools: the agent spawns nothing")
                .isEmpty();
        assertThat(entries).noneMatch(e -> e.contains("libawt") || e.contains("libX11"));

        String release = Files.readString(rootfs.resolve("opt/ferry/jre/release"));
        String modules = release.lines()
                .filter(l -> l.startsWith("MODULES="))
                .findFirst()
                .orElseThrow()
                .replace("MODULES=", "")
                .replace("\"", "");
        assertThat(Set.of(modules.split(" "))).containsExactlyInAnyOrderElementsOf(MODULES);
        assertThat(hasInterpreter(rootfs.resolve("opt/ferry/bin/ferry-cni")))
                .as("the plugin runs on hosts without a libc of ours: static")
                .isFalse();
        assertThat(hasInterpreter(rootfs.resolve("opt/ferry/jre/bin/java"))).isTrue();
        log.info(
                "image: {} MiB archive, layers {}",
                Files.size(archive) >> 20,
                manifest.path("layers")
                        .valueStream()
                        .map(l -> (l.path("size").asLong() >> 10) + " KiB")
                        .collect(Collectors.joining(", ")));
    }

    /**
     * The DaemonSet's life on one simulated node: install, run, capture, HBONE, rolling replacement. Each agent
     * container gets a network namespace of its own, as a pod without hostNetwork does (two containers in one would
     * also share the metrics and readiness ports); the node's namespace is its {@code hostNetns}.
     */
    @Test
    void theAgentFromTheImageCapturesPodsOverHboneAndIsReplacedWithoutARefusal() throws Exception {
        Path node = Files.createDirectories(dir.resolve("node1"));
        Path netd = Files.createDirectories(node.resolve("etc/cni/net.d"));
        Path bin = Files.createDirectories(node.resolve("opt/cni/bin"));
        Path etc = Files.createDirectories(node.resolve("etc/ferry"));
        Path run = Files.createDirectories(node.resolve("var/run/ferry"));
        Path state = Files.createDirectories(node.resolve("var/lib/ferry"));
        try (var plugins = Files.list(Path.of("/usr/lib/cni"))) {
            for (Path p : plugins.toList()) {
                Files.createSymbolicLink(bin.resolve(p.getFileName()), p);
            }
        }
        Files.writeString(netd.resolve("10-bridge.conflist"), """
                {"cniVersion":"1.0.0","name":"k8s-pod-network","plugins":[
                  {"type":"bridge","bridge":"cni0","isDefaultGateway":true,"ipMasq":false,
                   "ipam":{"type":"host-local","ranges":[[{"subnet":"10.244.1.0/24"}]],"dataDir":"%s"}}]}
                """.formatted(node.resolve("var/lib/cni")));
        Path mesh = etc.resolve("mesh.yaml");
        Files.writeString(mesh, ShopMesh.yaml("", "", "node-1", true));

        try (Podman podman = new Podman(dir.resolve("podman"));
                Netns host = new Netns("ferry-in");
                Netns agentA = new Netns("ferry-ia");
                Netns agentB = new Netns("ferry-ib");
                Netns client = new Netns("ferry-ic");
                Netns web = new Netns("ferry-iw")) {
            Files.writeString(etc.resolve("node.yaml"), """
                    nodeName: node-1
                    meshSource: file
                    meshFile: /etc/ferry/mesh.yaml
                    podEventSocket: %s/cni.sock
                    enrolledNamespacesFile: %s/enrolled-namespaces
                    stateDir: %s
                    cniConfDir: /host/etc/cni/net.d
                    cniMode: own
                    hostNetns: /run/netns/%s
                    probeSnat: node
                    drainTimeout: 5s
                    """.formatted(run, state, state, host.name()));
            assertThat(podman.load(archive)).contains(IMAGE);

            // the DaemonSet's init step, from the image: the plugin onto the node, Ferry into its CNI config
            podman.runToEnd(
                    dir.resolve("install-cni.log"),
                    List.of(
                            "--network",
                            "none",
                            "--cap-drop",
                            "all",
                            "--read-only",
                            "-v",
                            etc + ":/etc/ferry:ro",
                            "-v",
                            bin + ":/host/opt/cni/bin",
                            "-v",
                            netd + ":/host/etc/cni/net.d",
                            IMAGE,
                            "-Xmx64m",
                            "-jar",
                            "/opt/ferry/ferry-agent.jar",
                            "install-cni",
                            "--config",
                            "/etc/ferry/node.yaml",
                            "--plugin-binary",
                            "/opt/ferry/bin/ferry-cni",
                            "--cni-bin-dir",
                            "/host/opt/cni/bin"),
                    120);
            assertThat(bin.resolve("ferry-cni")).isRegularFile().isExecutable();
            JsonNode conflist = JSON.readTree(netd.resolve("00-ferry.conflist").toFile());
            assertThat(conflist.path("plugins")
                            .valueStream()
                            .map(p -> p.path("type").asString()))
                    .containsExactly("bridge", "ferry-cni");

            long t0 = System.nanoTime();
            // the DaemonSet's command with the image's AOT cache required (-XX:AOTMode=on): the JVM refuses to start
            // when the cache does not fit the image's runtime, jar or flags, where by default it would only warn
            List<String> aArgs = agentArgs("ferry-agent-a", agentA, etc, run, state, netd);
            aArgs.addAll(List.of(
                    "@/opt/ferry/jvm.options",
                    "-XX:AOTCache=/opt/ferry/ferry-agent.aot",
                    "-XX:AOTMode=on",
                    "-jar",
                    "/opt/ferry/ferry-agent.jar",
                    "run",
                    "--config",
                    "/etc/ferry/node.yaml"));
            Process a = podman.run(dir.resolve("agent-a.log"), aArgs);
            awaitReady(agentA, a, dir.resolve("agent-a.log"));
            log.info("agent container start to ready: {} ms", (System.nanoTime() - t0) / 1_000_000);
            assertThat(Files.readString(dir.resolve("agent-a.log"))).doesNotContain("WARN  [main] d.f.agent.net");

            // pods through the node's real chain, which ends in the plugin the image installed
            CniDriver cni = new CniDriver(host, bin);
            CniDriver.Result c = cni.add(conflist, "c-client", client.path(), "shop", "client-1", "uid-client");
            assertThat(c.code()).as(c.stdout()).isZero();
            CniDriver.Result w = cni.add(conflist, "c-web", web.path(), "shop", "web-1", "uid-web");
            assertThat(w.code()).as(w.stdout()).isZero();
            String clientIp = c.ip();
            String webIp = w.ip();
            assertThat(client.exec("cat", "/proc/sys/net/ipv4/tcp_migrate_req").trim())
                    .as("set by the plugin: the agent's /proc/sys is read-only")
                    .isEqualTo("1");
            Files.writeString(mesh, ShopMesh.yaml(clientIp, webIp, "node-1", true));
            Nginx.startWhoAmI(web, dir, webIp, 8080);
            String expected = "hello from web, you are " + clientIp;
            awaitBody(client, expected, Duration.ofSeconds(30));
            Map<String, String> mtls = Map.of(
                    "reporter", "destination",
                    "destination_workload", "web",
                    "connection_security_policy", "mutual_tls");
            assertThat(PromText.sum(scrape(agentA), "istio_tcp_connections_opened_total", mtls))
                    .as("client → web went over HBONE through the containerised agent")
                    .isGreaterThanOrEqualTo(1);

            // rolling replacement under load: B up and ready, then A stopped (SIGTERM: drain, hand over, exit)
            Path codes = dir.resolve("load.txt");
            Process load = client.start(new ProcessBuilder(
                            "sh",
                            "-c",
                            "end=$(($(date +%s)+25)); while [ $(date +%s) -lt $end ]; do "
                                    + "curl -s -o /dev/null -w '%{http_code}%{errormsg}\\n' --max-time 3 http://10.96.0.10/; done")
                    .redirectErrorStream(true)
                    .redirectOutput(codes.toFile()));
            Thread.sleep(1500);
            Process b =
                    podman.run(dir.resolve("agent-b.log"), agentArgs("ferry-agent-b", agentB, etc, run, state, netd));
            awaitReady(agentB, b, dir.resolve("agent-b.log"));
            Thread.sleep(1000);
            a.destroy();
            assertThat(a.waitFor(30, TimeUnit.SECONDS))
                    .as("A drained and exited")
                    .isTrue();
            assertThat(load.waitFor(60, TimeUnit.SECONDS)).isTrue();
            List<String> answered = Files.readAllLines(codes);
            assertThat(answered).hasSizeGreaterThan(50);
            assertThat(answered)
                    .as("every request answered across the replacement")
                    .allMatch("200"::equals);
            assertThat(client.exec("curl", "-sS", "--max-time", "5", "http://10.96.0.10/"))
                    .isEqualTo(expected);
            assertThat(PromText.sum(scrape(agentB), "istio_tcp_connections_opened_total", mtls))
                    .as("B serves the pods now")
                    .isGreaterThanOrEqualTo(1);
            assertThat(Files.readString(dir.resolve("agent-a.log"))).contains("drain");
        }
    }

    private static String tail(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static JsonNode config(Path layout) throws IOException {
        JsonNode index = JSON.readTree(layout.resolve("index.json").toFile());
        JsonNode manifest =
                JSON.readTree(blob(layout, index.path("manifests").get(0)).toFile());
        return JSON.readTree(blob(layout, manifest.path("config")).toFile());
    }

    private static List<String> agentArgs(String name, Netns ns, Path etc, Path run, Path state, Path netd) {
        return new ArrayList<>(List.of(
                "--name",
                name,
                "--network",
                "ns:" + ns.path(),
                "--cap-drop",
                "all",
                "--cap-add",
                "NET_ADMIN,SYS_ADMIN,NET_RAW",
                "--read-only",
                "--tmpfs",
                "/tmp:rw,exec,nosuid,nodev,size=128m",
                "-e",
                "NODE_NAME=node-1",
                "-v",
                etc + ":/etc/ferry:ro",
                // the plugin on the host reaches the agent at the path in the CNI config: the same inside and out
                "-v",
                run + ":" + run,
                "-v",
                state + ":" + state,
                "-v",
                netd + ":/host/etc/cni/net.d",
                // the runtime's namespace paths (CNI_NETNS), reopened by a new agent; new ones must appear: rslave
                "-v",
                "/run/netns:/run/netns:rslave",
                IMAGE));
    }

    private static void awaitReady(Netns ns, Process agent, Path logFile) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (true) {
            if (!agent.isAlive()) {
                throw new AssertionError(
                        "agent container exited " + agent.exitValue() + ":\n" + Files.readString(logFile));
            }
            Process p = new ProcessBuilder(ns.inside(
                            "curl",
                            "-sf",
                            "-o",
                            "/dev/null",
                            "--max-time",
                            "1",
                            "http://127.0.0.1:15021/healthz/ready"))
                    .redirectErrorStream(true)
                    .start();
            p.getInputStream().readAllBytes();
            if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("agent container not ready in 90 s:\n" + Files.readString(logFile));
            }
            Thread.sleep(200);
        }
    }

    private static void awaitBody(Netns client, String expected, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            Process p = client.start(new ProcessBuilder("curl", "-sS", "--max-time", "2", "http://10.96.0.10/")
                    .redirectErrorStream(true));
            last = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(5, TimeUnit.SECONDS);
            if (last.equals(expected)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the VIP never answered '" + expected + "'; last: " + last);
    }

    private static String scrape(Netns agent) throws IOException, InterruptedException {
        return agent.exec("curl", "-sS", "--max-time", "5", "http://127.0.0.1:15020/stats/prometheus");
    }

    private static Path blob(Path layout, JsonNode descriptor) {
        return layout.resolve(
                "blobs/sha256/" + descriptor.path("digest").asString().substring("sha256:".length()));
    }

    /** Whether an ELF executable names a program interpreter (PT_INTERP): a dynamically linked one does. */
    private static boolean hasInterpreter(Path elf) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(elf)).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(b.getInt(0)).as("ELF magic").isEqualTo(0x464c457f);
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        for (int i = 0; i < phnum; i++) {
            if (b.getInt((int) phoff + i * phentsize) == 3) {
                return true;
            }
        }
        return false;
    }

    private static String exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
        return out;
    }
}
