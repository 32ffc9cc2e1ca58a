package dev.ferry.agent.support;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * A container runtime's CNI side, as the spec describes it (no cnitool package exists): runs each plugin of a
 * conflist in order for ADD (passing each result on as the next plugin's prevResult) and in reverse for DEL,
 * inside the node's namespace, with the env kubelet sets ({@code IgnoreUnknown=1;K8S_POD_NAMESPACE=...}).
 */
public final class CniDriver {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Netns node;
    private final Path binDir;

    public CniDriver(Netns node, Path binDir) {
        this.node = node;
        this.binDir = binDir;
    }

    public record Result(int code, String stdout) {
        /** The first address the chain assigned (an ADD's result), without its prefix length. */
        public String ip() {
            String cidr =
                    JSON.readTree(stdout).path("ips").get(0).path("address").asString();
            return cidr.substring(0, cidr.indexOf('/'));
        }
    }

    /** A CNI_PATH under {@code dir}: Debian's reference plugins plus the freshly built ferry-cni. */
    public static Path pluginDir(Path dir) throws IOException {
        Path bin = java.nio.file.Files.createDirectories(dir.resolve("bin"));
        try (java.util.stream.Stream<Path> plugins = java.nio.file.Files.list(Path.of("/usr/lib/cni"))) {
            for (Path p : plugins.toList()) {
                java.nio.file.Files.createSymbolicLink(bin.resolve(p.getFileName()), p);
            }
        }
        java.nio.file.Files.createSymbolicLink(
                bin.resolve("ferry-cni"), Path.of(System.getProperty("ferry.cni.binary")));
        return bin;
    }

    public Result add(JsonNode conflist, String containerId, Path netns, String podNs, String pod, String uid)
            throws IOException, InterruptedException {
        JsonNode prev = null;
        Result last = new Result(0, "");
        for (JsonNode plugin : conflist.path("plugins")) {
            last = exec("ADD", conflist, plugin, prev, containerId, netns, podNs, pod, uid);
            if (last.code() != 0) {
                return last;
            }
            prev = JSON.readTree(last.stdout());
        }
        return last;
    }

    /** CHECK, as the spec runs it: every plugin in order, each given the chain's ADD result as prevResult. */
    public Result check(
            JsonNode conflist, String containerId, Path netns, String podNs, String pod, String uid, JsonNode added)
            throws IOException, InterruptedException {
        Result last = new Result(0, "");
        for (JsonNode plugin : conflist.path("plugins")) {
            last = exec("CHECK", conflist, plugin, added, containerId, netns, podNs, pod, uid);
            if (last.code() != 0) {
                return last;
            }
        }
        return last;
    }

    public Result del(JsonNode conflist, String containerId, Path netns, String podNs, String pod, String uid)
            throws IOException, InterruptedException {
        JsonNode plugins = conflist.path("plugins");
        Result last = new Result(0, "");
        for (int i = plugins.size() - 1; i >= 0; i--) {
            last = exec("DEL", conflist, plugins.get(i), null, containerId, netns, podNs, pod, uid);
            if (last.code() != 0) {
                return last;
            }
        }
        return last;
    }

    private Result exec(
            String command,
            JsonNode conflist,
            JsonNode plugin,
            JsonNode prev,
            String containerId,
            Path netns,
            String podNs,
            String pod,
            String uid)
            throws IOException, InterruptedException {
        ObjectNode conf = (ObjectNode) plugin.deepCopy();
        conf.put("cniVersion", conflist.path("cniVersion").asString());
        conf.put("name", conflist.path("name").asString());
        if (prev != null) {
            conf.set("prevResult", prev);
        }
        String type = plugin.path("type").asString();
        ProcessBuilder pb = new ProcessBuilder(node.inside(binDir.resolve(type).toString()));
        pb.environment().clear();
        pb.environment()
                .putAll(Map.of(
                        "CNI_COMMAND",
                        command,
                        "CNI_CONTAINERID",
                        containerId,
                        "CNI_NETNS",
                        netns.toString(),
                        "CNI_IFNAME",
                        "eth0",
                        "CNI_ARGS",
                        "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + podNs + ";K8S_POD_NAME=" + pod + ";K8S_POD_UID=" + uid,
                        "CNI_PATH",
                        binDir.toString(),
                        "PATH",
                        "/usr/sbin:/usr/bin:/sbin:/bin"));
        Process p = pb.redirectErrorStream(false).start();
        try (var os = p.getOutputStream()) {
            os.write(JSON.writeValueAsString(conf).getBytes(StandardCharsets.UTF_8));
        }
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("CNI plugin " + type + " " + command + " did not finish");
        }
        return new Result(
                p.exitValue(),
                out.isEmpty() && p.exitValue() != 0
                        ? new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)
                        : out);
    }
}
