package dev.ferry.agent.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.MeshFiles;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.Nginx;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The real CNI plugin executable calling the agent's pod-event server, which captures the pod inside its namespace.
 * Root only; fails, never skips.
 */
class PodEventNetnsTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String PREV = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.2/24\"}]}";

    @TempDir
    Path dir;

    record Run(int code, String out) {
        JsonNode json() {
            return JSON.readTree(out);
        }
    }

    private Run plugin(String command, String netns, String name, String uid, Path socket, Path enrolled)
            throws Exception {
        return plugin(command, netns, name, uid, socket, enrolled, PREV);
    }

    private Run plugin(
            String command, String netns, String name, String uid, Path socket, Path enrolled, String prevResult)
            throws Exception {
        return pluginAs(null, command, netns, name, uid, socket, enrolled, prevResult);
    }

    /** @param user run the plugin as this uid (through setpriv), or null for root */
    private Run pluginAs(
            Integer user,
            String command,
            String netns,
            String name,
            String uid,
            Path socket,
            Path enrolled,
            String prevResult)
            throws Exception {
        String config = "{\"cniVersion\":\"1.0.0\",\"name\":\"k8s\",\"type\":\"ferry-cni\",\"agentSocket\":\"" + socket
                + "\",\"enrolledNamespacesFile\":\"" + enrolled + "\",\"prevResult\":" + prevResult + "}";
        ProcessBuilder pb = user == null
                ? new ProcessBuilder(System.getProperty("ferry.cni.binary"))
                : new ProcessBuilder(
                        "setpriv",
                        "--reuid=" + user,
                        "--regid=" + user,
                        "--clear-groups",
                        System.getProperty("ferry.cni.binary"));
        pb.environment().clear();
        pb.environment().put("CNI_COMMAND", command);
        pb.environment().put("CNI_CONTAINERID", "c1");
        pb.environment().put("CNI_NETNS", netns);
        pb.environment().put("CNI_IFNAME", "eth0");
        pb.environment()
                .put("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=test;K8S_POD_NAME=" + name + ";K8S_POD_UID=" + uid);
        Process p = pb.start();
        try (var os = p.getOutputStream()) {
            os.write(config.getBytes(StandardCharsets.UTF_8));
        }
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), out);
    }

    @Test
    void pluginAddCapturesThePodAndForgedOrGarbageCallsChangeNothing() throws Exception {
        Path mesh = clientMesh();
        Path enrolled = enrolledFile();
        Path socket = podEventSocket();
        // io_uring data path: the pod-event server brings its own epoll loop for fd passing
        try (Netns pod = new Netns("ferry-cni");
                AgentFixture f = new AgentFixture(
                        "io_uring",
                        mesh,
                        Map.of(
                                "FERRY_POD_EVENT_SOCKET", socket.toString(),
                                "FERRY_ENROLLED_NAMESPACES_FILE", enrolled.toString(),
                                "FERRY_POD_CIDRS", "10.244.1.0/24"))) {
            assertThat(Files.readString(enrolled))
                    .as("written from the mesh snapshot")
                    .isEqualTo("test\n");
            pod.exec("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
            pod.exec("ip", "link", "set", "eth0", "up");
            pod.exec("ip", "addr", "add", "10.244.1.2/24", "dev", "eth0");
            {
                assertThat(Files.getPosixFilePermissions(socket.getParent()).toString())
                        .isEqualTo("[OWNER_READ, OWNER_WRITE, OWNER_EXECUTE]");
                String netns = "/run/netns/" + pod.name();

                // garbage on the socket: closed, nothing changes, the server keeps serving
                try (SocketChannel junk = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    junk.connect(UnixDomainSocketAddress.of(socket));
                    junk.write(ByteBuffer.wrap("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                    ByteBuffer buf = ByteBuffer.allocate(256);
                    int n = 0;
                    while (n >= 0) {
                        buf.clear();
                        n = junk.read(buf);
                    }
                }

                // forged: the host's own namespace (the plugin runs in it, like the agent here)
                Run forged = plugin("ADD", "/proc/self/ns/net", "client-1", "uid-client-1", socket, enrolled);
                assertThat(forged.code()).isNotZero();
                assertThat(forged.json().path("code").asInt()).isEqualTo(PodEventReply.REFUSED);
                assertThat(forged.json().path("msg").asString()).contains("own namespace");

                // a pod the control plane does not know (yet): try again
                Run unknown = plugin("ADD", netns, "ghost", "u-ghost", socket, enrolled);
                assertThat(unknown.json().path("code").asInt()).isEqualTo(11);
                // a UID that does not match the snapshot's
                Run wrongUid = plugin("ADD", netns, "client-1", "someone-else", socket, enrolled);
                assertThat(wrongUid.json().path("code").asInt()).isEqualTo(11);
                assertThat(pod.exec("ss", "-Hltn")).doesNotContain(":15001");

                // prevResult claiming an IP the namespace does not have (stealing another pod's identity by IP)
                Run stolen = plugin(
                        "ADD",
                        netns,
                        "client-1",
                        "uid-client-1",
                        socket,
                        enrolled,
                        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.99/24\"}]}");
                assertThat(stolen.json().path("code").asInt()).isEqualTo(PodEventReply.REFUSED);
                assertThat(stolen.json().path("msg").asString())
                        .contains("10.244.1.99")
                        .contains("not configured");
                assertThat(pod.exec("ss", "-Hltn")).doesNotContain(":15001");
                // an address configured in the pod but outside this node's pod range
                pod.exec("ip", "addr", "add", "10.244.9.2/24", "dev", "eth0");
                Run foreign = plugin(
                        "ADD",
                        netns,
                        "client-1",
                        "uid-client-1",
                        socket,
                        enrolled,
                        "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.9.2/24\"}]}");
                assertThat(foreign.json().path("msg").asString()).contains("outside this node's pod ranges");

                Run add = plugin("ADD", netns, "client-1", "uid-client-1", socket, enrolled);
                assertThat(add.code()).as(add.out()).isZero();
                assertThat(add.json()).isEqualTo(JSON.readTree(PREV));
                assertThat(pod.exec("nft", "list", "table", "inet", "ferry")).contains("redirect to :15001");
                assertThat(pod.exec("ss", "-Hltn")).contains(":15001").contains(":15006");
                assertThat(plugin("CHECK", netns, "client-1", "uid-client-1", socket, enrolled)
                                .code())
                        .isZero();

                assertThat(plugin("DEL", netns, "client-1", "uid-client-1", socket, enrolled)
                                .code())
                        .isZero();
                assertThat(plugin("DEL", netns, "client-1", "uid-client-1", socket, enrolled)
                                .code())
                        .isZero();
                assertThat(plugin("DEL", "/nonexistent/netns", "client-1", "uid-client-1", socket, enrolled)
                                .code())
                        .isZero();
                assertThat(pod.exec("ss", "-Hltn")).doesNotContain(":15001");
                assertThat(pod.exec("nft", "list", "table", "inet", "ferry"))
                        .as("DEL keeps the rules")
                        .contains(":15001");
                assertThat(plugin("CHECK", netns, "client-1", "uid-client-1", socket, enrolled)
                                .json()
                                .path("code")
                                .asInt())
                        .isEqualTo(11);
            }
        }
    }

    @Test
    void restartedAgentReattachesToRunningPodsAndDropsThoseWhoseNamespaceIsGone() throws Exception {
        Path mesh = new MeshFiles()
                .pod("client-1", "10.244.1.2", "node-1", "client", 8080)
                .pod("client-2", "10.244.1.3", "node-1", "client", 8080)
                .write(dir);
        Path enrolled = dir.resolve("state/enrolled-namespaces");
        Path socket = dir.resolve("run/cni.sock");
        Path stateDir = dir.resolve("state");
        Map<String, String> cfg = Map.of(
                "FERRY_POD_EVENT_SOCKET", socket.toString(),
                "FERRY_ENROLLED_NAMESPACES_FILE", enrolled.toString(),
                "FERRY_STATE_DIR", stateDir.toString());
        try (Netns stays = podWithIp("ferry-rs1", "10.244.1.2")) {
            Netns goes = podWithIp("ferry-rs2", "10.244.1.3");
            try {
                try (AgentFixture first = new AgentFixture("epoll", mesh, cfg)) {
                    assertThat(plugin(
                                            "ADD",
                                            "/run/netns/" + stays.name(),
                                            "client-1",
                                            "uid-client-1",
                                            socket,
                                            enrolled,
                                            "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.2/24\"}]}")
                                    .code())
                            .isZero();
                    assertThat(plugin(
                                            "ADD",
                                            "/run/netns/" + goes.name(),
                                            "client-2",
                                            "uid-client-2",
                                            socket,
                                            enrolled,
                                            "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\"10.244.1.3/24\"}]}")
                                    .code())
                            .isZero();
                    assertThat(Files.readString(stateDir.resolve("pods.json"))).contains("client-1", "client-2");
                }
                assertThat(stays.exec("ss", "-Hltn")).as("agent stopped").doesNotContain(":15001");
            } finally {
                goes.close(); // this pod went away while no agent was running
            }
            try (AgentFixture second = new AgentFixture("epoll", mesh, cfg)) {
                assertThat(stays.exec("ss", "-Hltn"))
                        .as("re-attached before serving")
                        .contains(":15001");
                String registry = Files.readString(stateDir.resolve("pods.json"));
                assertThat(registry).contains("client-1").doesNotContain("client-2");
                assertThat(second.get(second.agent.readinessAddress(), "/healthz/ready"))
                        .contains("ready");
            }
        }
    }

    @Test
    void onlyRootMayCall() throws Exception {
        Path mesh = clientMesh();
        Path enrolled = enrolledFile();
        Path socket = podEventSocket();
        try (Netns pod = podWithIp("ferry-nr", "10.244.1.2");
                AgentFixture f = new AgentFixture(
                        "epoll",
                        mesh,
                        Map.of(
                                "FERRY_POD_EVENT_SOCKET", socket.toString(),
                                "FERRY_ENROLLED_NAMESPACES_FILE", enrolled.toString()))) {
            // The plugin must be able to read its config inputs as that user; the agent's dir stays 0700.
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(
                    enrolled.getParent(), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            String netns = "/run/netns/" + pod.name();
            Run blocked = pluginAs(65534, "ADD", netns, "client-1", "uid-client-1", socket, enrolled, PREV);
            assertThat(blocked.json().path("code").asInt())
                    .as("0700 socket dir: cannot even connect")
                    .isEqualTo(11);

            // Second line of defence: even with the directory opened up, the agent checks SO_PEERCRED.
            Files.setPosixFilePermissions(
                    socket.getParent(), java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setPosixFilePermissions(socket, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
            Run refused = pluginAs(65534, "ADD", netns, "client-1", "uid-client-1", socket, enrolled, PREV);
            assertThat(refused.json().path("code").asInt()).as(refused.out()).isEqualTo(PodEventReply.REFUSED);
            assertThat(refused.json().path("msg").asString()).contains("only root");
            assertThat(pod.exec("ss", "-Hltn")).doesNotContain(":15001");
            assertThat(pod.exec("sh", "-c", "nft list table inet ferry 2>&1 || true"))
                    .doesNotContain("redirect");
        }
    }

    @Test
    void rollingRestartRefusesNoNewConnection() throws Exception {
        Path mesh = clientMesh();
        Path enrolled = enrolledFile();
        Path socket = podEventSocket();
        Map<String, String> cfg = Map.of(
                "FERRY_POD_EVENT_SOCKET", socket.toString(),
                "FERRY_ENROLLED_NAMESPACES_FILE", enrolled.toString(),
                "FERRY_STATE_DIR", dir.resolve("state").toString(),
                "FERRY_TEST_REAL_ORIGINAL_DST", "true");
        try (Netns client = new Netns("ferry-rc");
                Netns server = new Netns("ferry-rs")) {
            Netns.link(client, "10.244.1.2", server, "10.244.1.3");
            Nginx.start(server, dir, "10.244.1.3:8080");

            AgentFixture old = new AgentFixture("epoll", mesh, cfg);
            try {
                assertThat(plugin("ADD", "/run/netns/" + client.name(), "client-1", "uid-client-1", socket, enrolled)
                                .code())
                        .isZero();
                // Load from inside the pod, through its capture (10.244.1.3 is outside the mesh: passthrough).
                Process load = client.start(new ProcessBuilder(
                                "sh",
                                "-c",
                                "end=$(($(date +%s)+5)); while [ $(date +%s) -lt $end ]; do "
                                        + "curl -s -o /dev/null -w '%{http_code}\\n' --max-time 2 http://10.244.1.3:8080/; done")
                        .redirectErrorStream(true)
                        .redirectOutput(dir.resolve("load.txt").toFile()));
                Thread.sleep(1000);
                try (AgentFixture fresh = new AgentFixture("epoll", mesh, cfg)) { // re-attaches from the state dir
                    Thread.sleep(500);
                    old.agent.drainAndStop(java.time.Duration.ofSeconds(3));
                    assertThat(load.waitFor(20, java.util.concurrent.TimeUnit.SECONDS))
                            .isTrue();
                    java.util.List<String> codes = Files.readAllLines(dir.resolve("load.txt"));
                    assertThat(codes).hasSizeGreaterThan(20);
                    assertThat(codes)
                            .as("every request answered across the hand-over")
                            .allMatch("200"::equals);
                    assertThat(client.exec("ss", "-Hltn"))
                            .as("the new agent serves the pod")
                            .contains(":15001");
                    assertThat(socket)
                            .as("the old agent left the new one's socket alone")
                            .exists();
                }
            } finally {
                old.close();
            }
        }
    }

    @Test
    void withTheKubernetesSourceAddMarksThePodCapturedAndDelUnmarksIt() throws Exception {
        try (var server = dev.ferry.mesh.kube.KubeApiServer.start(true);
                var admin = server.client(dev.ferry.mesh.kube.KubeApiServer.ADMIN_TOKEN)) {
            dev.ferry.mesh.kube.KubeFixtures.applyMeshFile(
                    admin,
                    new MeshFiles()
                            .pod("client-1", "10.244.1.2", "node-1", "client", 8080)
                            .text());
            var pods = admin.pods().inNamespace("test");
            String uid = pods.withName("client-1").get().getMetadata().getUid(); // the API server's, not the file's
            Path kubeconfig = dev.ferry.mesh.kube.KubeFixtures.kubeconfig(
                    dir, server.url(), dev.ferry.mesh.kube.KubeApiServer.ADMIN_TOKEN);
            Path enrolled = enrolledFile();
            Path socket = podEventSocket();
            try (Netns pod = podWithIp("ferry-cnik", "10.244.1.2");
                    AgentFixture f = new AgentFixture(
                            "epoll",
                            dir.resolve("no-mesh-file"),
                            Map.of(
                                    "FERRY_MESH_SOURCE", "kubernetes",
                                    "FERRY_KUBECONFIG", kubeconfig.toString(),
                                    "FERRY_POD_EVENT_SOCKET", socket.toString(),
                                    "FERRY_ENROLLED_NAMESPACES_FILE", enrolled.toString()))) {
                String netns = "/run/netns/" + pod.name();
                long deadline = System.nanoTime() + 30_000_000_000L;
                // the plugin passes unenrolled namespaces through: wait for the synced state's enrolled file
                while (!(Files.exists(enrolled) && Files.readString(enrolled).contains("test"))
                        && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                Run add = plugin("ADD", netns, "client-1", uid, socket, enrolled);
                while (add.code() != 0 && System.nanoTime() < deadline) { // 11 until the source has synced
                    Thread.sleep(100);
                    add = plugin("ADD", netns, "client-1", uid, socket, enrolled);
                }
                assertThat(add.code()).as(add.out()).isZero();
                while (!"enabled".equals(annotation(pods)) && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(annotation(pods)).as("marked on ADD").isEqualTo("enabled");
                assertThat(plugin("DEL", netns, "client-1", uid, socket, enrolled)
                                .code())
                        .isZero();
                while (annotation(pods) != null && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertThat(annotation(pods)).as("unmarked on DEL").isNull();
            }
        }
    }

    private static String annotation(
            io.fabric8.kubernetes.client.dsl.NonNamespaceOperation<
                            io.fabric8.kubernetes.api.model.Pod,
                            io.fabric8.kubernetes.api.model.PodList,
                            io.fabric8.kubernetes.client.dsl.PodResource>
                    pods) {
        var a = pods.withName("client-1").get().getMetadata().getAnnotations();
        return a == null ? null : a.get(dev.ferry.mesh.Workload.CAPTURED_ANNOTATION);
    }

    /** The mesh most of these tests use: one pod, client-1 at 10.244.1.2 on node-1. */
    private Path clientMesh() throws java.io.IOException {
        return new MeshFiles()
                .pod("client-1", "10.244.1.2", "node-1", "client", 8080)
                .write(dir);
    }

    private Path enrolledFile() {
        return dir.resolve("state/enrolled-namespaces");
    }

    private Path podEventSocket() {
        return dir.resolve("run/cni.sock");
    }

    private static Netns podWithIp(String prefix, String ip) throws Exception {
        Netns ns = new Netns(prefix);
        try {
            ns.exec("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
            ns.exec("ip", "link", "set", "eth0", "up");
            ns.exec("ip", "addr", "add", ip + "/24", "dev", "eth0");
            return ns;
        } catch (Exception e) {
            ns.close();
            throw e;
        }
    }
}
