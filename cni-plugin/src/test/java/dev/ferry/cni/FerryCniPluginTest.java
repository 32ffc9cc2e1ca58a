package dev.ferry.cni;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The real static plugin executable, exec'd the way a container runtime does (env + stdin config). */
class FerryCniPluginTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String PREV = "{\"cniVersion\":\"0.3.1\",\"interfaces\":[{\"name\":\"eth0\"}],"
            + "\"ips\":[{\"version\":\"4\",\"address\":\"10.244.1.5/24\",\"interface\":0}]}";

    @TempDir
    Path dir;

    private Path enrolledFile;
    private Path socket;

    record Run(int code, String stdout) {
        JsonNode json() {
            return JSON.readTree(stdout);
        }
    }

    /** The pod's namespace the plugin is given; the plugin's own (the node's) unless a test makes one. */
    private String netns = "/proc/self/ns/net";

    @BeforeEach
    void setUp() throws IOException {
        enrolledFile = Files.writeString(dir.resolve("enrolled"), "shop\npayments\n");
        socket = dir.resolve("cni.sock");
    }

    private String config(String extra) {
        return "{\"cniVersion\":\"0.3.1\",\"name\":\"k8s-pod-network\",\"type\":\"ferry-cni\","
                + "\"agentSocket\":\"" + socket + "\",\"enrolledNamespacesFile\":\"" + enrolledFile + "\","
                + "\"excludedNamespaces\":[\"kube-system\",\"ferry-system\"]" + extra + ",\"prevResult\":" + PREV
                + "}";
    }

    private Run run(String command, String namespace, String stdin) throws Exception {
        Map<String, String> env = new HashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", "c0ffee");
        env.put("CNI_NETNS", netns);
        env.put("CNI_IFNAME", "eth0");
        env.put("CNI_PATH", "/opt/cni/bin");
        if (namespace != null) {
            env.put(
                    "CNI_ARGS",
                    "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + namespace + ";K8S_POD_NAME=web-1;K8S_POD_UID=u1");
        }
        ProcessBuilder pb = new ProcessBuilder(System.getProperty("ferry.cni.binary"));
        pb.environment().clear(); // runtimes call plugins with a minimal environment
        pb.environment().putAll(env);
        Process p = pb.start();
        // The plugin may exit without reading stdin (VERSION, or a refusal): a broken pipe here is expected.
        Thread writer = Thread.ofVirtual().start(() -> {
            try (var os = p.getOutputStream()) {
                os.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the plugin closed its stdin early
            }
        });
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        writer.join(5000);
        return new Run(p.exitValue(), out.trim());
    }

    @Test
    void versionIsAnsweredLocally() throws Exception {
        Run r = run("VERSION", null, "{\"cniVersion\":\"1.0.0\"}");
        assertThat(r.code()).isZero();
        assertThat(r.json().path("supportedVersions").toString()).contains("0.3.0", "0.3.1", "0.4.0", "1.0.0");
    }

    @Test
    void excludedAndUnenrolledPodsPassPrevResultThroughWithoutTheAgent() throws Exception {
        for (String ns : new String[] {"kube-system", "ferry-system", "not-enrolled"}) {
            Run add = run("ADD", ns, config(""));
            assertThat(add.code()).as(ns).isZero();
            assertThat(add.json()).isEqualTo(JSON.readTree(PREV));
            assertThat(run("DEL", ns, config("")).code()).isZero();
            assertThat(run("CHECK", ns, config("")).code()).isZero();
        }
    }

    @Test
    void aCallThatNamesNoPodNamespaceFailsUnlessConfiguredToPassThrough() throws Exception {
        // The default (and an explicit "fail"): ADD and CHECK refuse, naming the missing argument; DEL succeeds.
        for (String extra : new String[] {"", ",\"unplacedPods\":\"fail\""}) {
            Run add = run("ADD", null, config(extra));
            assertThat(add.code()).as(extra).isNotZero();
            assertThat(add.json().path("code").asInt()).isEqualTo(4);
            assertThat(add.json().path("msg").asString()).contains("K8S_POD_NAMESPACE");
            assertThat(add.json().path("details").asString()).contains("cniUnplacedPods");
            assertThat(run("CHECK", null, config(extra)).json().path("code").asInt())
                    .isEqualTo(4);
            Run del = run("DEL", null, config(extra));
            assertThat(del.code()).isZero();
            assertThat(del.stdout()).isEmpty();
        }
        // A node whose runtime also runs plain containers: they start, untouched.
        Run through = run("ADD", null, config(",\"unplacedPods\":\"passthrough\""));
        assertThat(through.code()).isZero();
        assertThat(through.json()).isEqualTo(JSON.readTree(PREV));
        Run bad = run("ADD", null, config(",\"unplacedPods\":\"sometimes\""));
        assertThat(bad.json().path("code").asInt()).isEqualTo(6);
        assertThat(bad.json().path("details").asString()).contains("must be fail or passthrough");
    }

    @Test
    void enrolledPodWithTheAgentDownFailsAddAndCheckWithTryAgainButDelSucceeds() throws Exception {
        Run add = run("ADD", "shop", config(""));
        assertThat(add.code()).isNotZero();
        assertThat(add.json().path("code").asInt()).isEqualTo(11);
        assertThat(add.json().path("cniVersion").asString()).isEqualTo("0.3.1");
        assertThat(add.json().path("details").asString()).contains(socket.toString());
        Run check = run("CHECK", "shop", config(""));
        assertThat(check.json().path("code").asInt()).isEqualTo(11);
        Run del = run("DEL", "shop", config(""));
        assertThat(del.code()).isZero();
        assertThat(del.stdout()).isEmpty();
    }

    @Test
    void badInputIsAClearCniError() throws Exception {
        Run garbage = run("ADD", "shop", "not json {");
        assertThat(garbage.code()).isNotZero();
        assertThat(garbage.json().path("code").asInt()).isEqualTo(6);
        Run trailing = run("ADD", "shop", "{\"cniVersion\":\"1.0.0\"} {}");
        assertThat(trailing.json().path("code").asInt()).isEqualTo(6);
        Run unknown = run("REBOOT", "shop", config(""));
        assertThat(unknown.code()).isNotZero();
        assertThat(unknown.json().path("msg").asString()).contains("unknown CNI_COMMAND");
        Run huge = run("ADD", "shop", "{\"x\":\"" + "a".repeat(1 << 21) + "\"}");
        assertThat(huge.json().path("msg").asString()).contains("too large");
    }

    @Test
    void enrolledPodIsForwardedToTheAgentAndItsAnswerPrinted() throws Exception {
        // A stand-in for the agent's pod-event server (the real one lives in node-agent): it records the request
        // and answers with an exit code and a result.
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
            server.bind(UnixDomainSocketAddress.of(socket));
            Future<JsonNode> request = ex.submit(() -> {
                try (SocketChannel c = server.accept()) {
                    ByteBuffer marker = ByteBuffer.allocate(1); // carries the netns fd, which NIO discards
                    while (marker.hasRemaining()) {
                        c.read(marker);
                    }
                    assertThat(marker.get(0)).isEqualTo((byte) 'F');
                    ByteBuffer len = ByteBuffer.allocate(4);
                    while (len.hasRemaining()) {
                        c.read(len);
                    }
                    ByteBuffer body = ByteBuffer.allocate(len.flip().getInt());
                    while (body.hasRemaining()) {
                        c.read(body);
                    }
                    byte[] result = PREV.getBytes(StandardCharsets.UTF_8);
                    ByteBuffer reply = ByteBuffer.allocate(5 + result.length);
                    reply.putInt(1 + result.length).put((byte) 0).put(result).flip();
                    while (reply.hasRemaining()) {
                        c.write(reply);
                    }
                    return JSON.readTree(new String(body.array(), StandardCharsets.UTF_8));
                }
            });
            // A real pod namespace (root): the plugin sets tcp_migrate_req there, and only there.
            String pod = "ferry-cnitest-" + ProcessHandle.current().pid();
            String host = Files.readString(MIGRATE_REQ).trim();
            exec("ip", "netns", "add", pod);
            Run add;
            try {
                netns = "/run/netns/" + pod;
                add = run("ADD", "shop", config(""));
                assertThat(exec("ip", "netns", "exec", pod, "cat", MIGRATE_REQ.toString())
                                .trim())
                        .isEqualTo("1");
            } finally {
                exec("ip", "netns", "del", pod);
            }
            assertThat(Files.readString(MIGRATE_REQ).trim()).isEqualTo(host);
            assertThat(add.code()).isZero();
            assertThat(add.json()).isEqualTo(JSON.readTree(PREV));
            JsonNode req = request.get(10, TimeUnit.SECONDS);
            assertThat(req.path("env").path("CNI_COMMAND").asString()).isEqualTo("ADD");
            assertThat(req.path("env").path("CNI_ARGS").asString()).contains("K8S_POD_UID=u1");
            assertThat(req.path("netnsFd").asBoolean()).isTrue();
            assertThat(req.path("config").path("prevResult")).isEqualTo(JSON.readTree(PREV));
        }
    }

    private static final Path MIGRATE_REQ = Path.of("/proc/sys/net/ipv4/tcp_migrate_req");

    private static String exec(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).as(String.join(" ", cmd)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", cmd) + ": " + out).isZero();
        return out;
    }
}
