package dev.ferry.agent.capture;

import dev.ferry.agent.net.NetworkNamespace;
import dev.ferry.mesh.Cidr;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Workload;
import dev.ferry.net.IpLiteral;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Acts on CNI calls forwarded by the plugin. Trusts nothing it can check: the passed fd must be a network namespace
 * other than the agent's own; the pod must be in the mesh snapshot, on this node, with the UID the runtime gave;
 * its identity comes from the snapshot only. Blocking (nft): runs off the event loops, one call at a time.
 */
public final class PodEvents {
    private static final Logger log = LoggerFactory.getLogger(PodEvents.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** Captures a pod: rules and listeners inside the namespace at the path. */
    @FunctionalInterface
    public interface Attacher {
        PodCapture attach(Path netns, Workload workload) throws IOException, InterruptedException;
    }

    /** Told the captured pods (key → IPs) after every change; blocking is fine (it runs on the CNI thread). */
    @FunctionalInterface
    public interface CapturedPodsListener {
        void capturedPods(Map<String, List<InetAddress>> pods) throws InterruptedException;
    }

    private final Supplier<MeshSnapshot> snapshot;
    private final CapturedPodsListener listener;
    private final String nodeName;
    private final Attacher attacher;
    private final Map<String, PodCapture> captured = new ConcurrentHashMap<>();
    private final Map<String, PodRegistryFile.Entry> entries = new ConcurrentHashMap<>();
    private final PodRegistryFile registry;
    private final List<Cidr> podCidrs;
    private final Path hostNetns;

    /**
     * What this node's agent knows about itself.
     *
     * @param stateDir where the captured pods are persisted across restarts; null keeps them in memory only
     * @param podCidrs this node's pod ranges (empty: no check)
     * @param hostNetns the node's network namespace, refused like the agent's own; null when the agent runs in it
     */
    public record Settings(String nodeName, Path stateDir, List<Cidr> podCidrs, Path hostNetns) {
        public Settings {
            podCidrs = List.copyOf(podCidrs);
        }
    }

    public PodEvents(
            Supplier<MeshSnapshot> snapshot, Attacher attacher, CapturedPodsListener listener, Settings settings) {
        this.snapshot = snapshot;
        this.attacher = attacher;
        this.listener = listener;
        this.nodeName = settings.nodeName();
        this.podCidrs = settings.podCidrs();
        this.hostNetns = settings.hostNetns();
        this.registry = settings.stateDir() == null ? null : new PodRegistryFile(settings.stateDir());
    }

    /**
     * Re-attaches to the pods a previous agent captured (before this one reports ready); pods whose namespace is
     * gone, or that left the snapshot, are dropped.
     *
     * @return how many pods were re-attached
     */
    public synchronized int restore() throws InterruptedException {
        if (registry == null) {
            return 0;
        }
        List<PodRegistryFile.Entry> previous;
        try {
            previous = registry.read();
        } catch (IOException e) {
            log.error("cannot restore captured pods: {}", e.getMessage());
            return 0;
        }
        int restored = 0;
        for (PodRegistryFile.Entry e : previous) {
            String[] parts = e.key().split("/", 2);
            Optional<Workload> pod = parts.length == 2 ? snapshot.get().workload(parts[0], parts[1]) : Optional.empty();
            Path netns = Path.of(e.netns());
            if (pod.isEmpty() || !Files.exists(netns)) {
                log.info("dropping captured pod {}: {}", e.key(), pod.isEmpty() ? "not in the mesh" : "netns gone");
                continue;
            }
            try {
                captured.put(e.key(), attacher.attach(netns, pod.get()));
                entries.put(e.key(), e.ips().isEmpty() ? withIps(e, pod.get().ips()) : e);
                restored++;
            } catch (IOException | RuntimeException ex) {
                log.warn("cannot re-attach pod {}: {}", e.key(), ex.getMessage());
            }
        }
        persist();
        notifyListener();
        log.info("re-attached {} of {} previously captured pod(s)", restored, previous.size());
        return restored;
    }

    private static PodRegistryFile.Entry withIps(PodRegistryFile.Entry e, List<InetAddress> ips) {
        return new PodRegistryFile.Entry(
                e.key(),
                e.uid(),
                e.netns(),
                ips.stream().map(InetAddress::getHostAddress).toList());
    }

    private void notifyListener() throws InterruptedException {
        Map<String, List<InetAddress>> pods = new HashMap<>();
        for (PodRegistryFile.Entry e : entries.values()) {
            List<InetAddress> ips = new ArrayList<>();
            for (String ip : e.ips()) {
                InetAddress a = IpLiteral.parseOrNull(ip); // the file is on disk: parsed, never resolved
                if (a == null) {
                    log.warn("pod {}: bad address {} in the registry", e.key(), IpLiteral.abbreviate(ip));
                } else {
                    ips.add(a);
                }
            }
            pods.put(e.key(), ips);
        }
        listener.capturedPods(pods);
    }

    private void persist() {
        if (registry == null) {
            return;
        }
        try {
            registry.write(List.copyOf(entries.values()));
        } catch (IOException e) {
            log.error("cannot persist captured pods to {}: {}", registry.path(), e.getMessage());
        }
    }

    /**
     * @param body the request JSON ({@code env}, {@code netnsFd}, {@code config})
     * @param netnsFd the descriptor that came with it (still open; the caller closes it)
     */
    public synchronized PodEventReply handle(byte[] body, int netnsFd) throws InterruptedException {
        JsonNode req;
        try {
            req = JSON.readTree(body);
        } catch (JacksonException e) {
            return PodEventReply.error("1.0.0", PodEventReply.DECODE, "request is not JSON", e.getOriginalMessage());
        }
        JsonNode config = req.path("config");
        String version = config.path("cniVersion").asString("1.0.0");
        JsonNode env = req.path("env");
        String command = env.path("CNI_COMMAND").asString("");
        Map<String, String> args = parseArgs(env.path("CNI_ARGS").asString(""));
        String ns = args.getOrDefault("K8S_POD_NAMESPACE", "");
        String name = args.getOrDefault("K8S_POD_NAME", "");
        String uid = args.getOrDefault("K8S_POD_UID", "");
        String key = ns + "/" + name;
        if (ns.isEmpty() || name.isEmpty()) {
            return PodEventReply.error(version, PodEventReply.DECODE, "CNI_ARGS lacks K8S_POD_NAMESPACE/NAME", "");
        }
        return switch (command) {
            case "ADD" ->
                add(version, key, uid, config, netnsFd, env.path("CNI_NETNS").asString(""));
            case "DEL" -> del(key);
            case "CHECK" -> check(version, key);
            default -> PodEventReply.error(version, PodEventReply.DECODE, "unknown CNI_COMMAND '" + command + "'", "");
        };
    }

    private PodEventReply add(String version, String key, String uid, JsonNode config, int netnsFd, String netnsPath)
            throws InterruptedException {
        if (!NetworkNamespace.isNetworkNamespace(netnsFd)) {
            return PodEventReply.error(version, PodEventReply.REFUSED, "the passed fd is not a network namespace", key);
        }
        // By PID, not "self": nsenter (a child process) must be able to open it too.
        Path fdPath = Path.of("/proc/" + ProcessHandle.current().pid() + "/fd/" + netnsFd);
        if (sameFile(fdPath, Path.of("/proc/self/ns/net"))
                || sameFile(fdPath, Path.of("/proc/1/ns/net"))
                || (hostNetns != null && sameFile(fdPath, hostNetns))) {
            return PodEventReply.error(
                    version, PodEventReply.REFUSED, "refusing to capture the agent's or the host's own namespace", key);
        }
        if (!sameFile(fdPath, Path.of(netnsPath))) {
            // The path is what a restarted agent reopens: it must be the namespace that was passed.
            return PodEventReply.error(
                    version, PodEventReply.REFUSED, "CNI_NETNS " + netnsPath + " is not the passed namespace", key);
        }
        String[] parts = key.split("/", 2);
        Optional<Workload> pod = snapshot.get().workload(parts[0], parts[1]);
        if (pod.isEmpty() || !pod.get().node().equals(nodeName)) {
            // At ADD the control plane may not have the pod yet: the runtime retries.
            return PodEventReply.error(
                    version, PodEventReply.TRY_AGAIN, "pod " + key + " is not in the mesh snapshot for this node", "");
        }
        Workload w = pod.get();
        if (!w.uid().isEmpty() && !uid.isEmpty() && !w.uid().equals(uid)) {
            return PodEventReply.error(
                    version,
                    PodEventReply.TRY_AGAIN,
                    "pod " + key + " has UID " + w.uid() + ", the runtime says " + uid,
                    "");
        }
        PodAddresses.Verdict addresses = PodAddresses.check(config.path("prevResult"), fdPath, w, podCidrs);
        if (!addresses.trusted()) {
            return PodEventReply.error(version, PodEventReply.REFUSED, "pod " + key + ": " + addresses.problem(), "");
        }
        PodCapture previous = captured.remove(key);
        if (previous != null) {
            previous.close(); // a repeated ADD re-attaches to the (possibly new) namespace
        }
        try {
            captured.put(key, attacher.attach(fdPath, w));
            List<String> ips = addresses.addresses().stream()
                    .map(InetAddress::getHostAddress)
                    .toList();
            entries.put(key, new PodRegistryFile.Entry(key, uid, netnsPath, ips));
            persist();
            notifyListener();
        } catch (IOException | RuntimeException e) {
            log.warn("capturing pod {} failed: {}", key, e.getMessage());
            return PodEventReply.error(
                    version, PodEventReply.TRY_AGAIN, "capturing pod " + key + " failed", e.getMessage());
        }
        JsonNode prev = config.path("prevResult");
        return PodEventReply.ok(prev.isMissingNode() ? "{\"cniVersion\":\"" + version + "\"}" : prev.toString());
    }

    private PodEventReply del(String key) throws InterruptedException {
        PodCapture c = captured.remove(key);
        if (c != null) {
            c.close(); // rules stay: a stray DEL must never un-capture a live pod
        }
        if (entries.remove(key) != null) {
            persist();
            notifyListener();
        }
        return PodEventReply.ok("");
    }

    /** CNI CHECK: the pod is captured, its listeners serve, its rules and reply route are in place. */
    private PodEventReply check(String version, String key) throws InterruptedException {
        PodCapture c = captured.get(key);
        if (c == null) {
            return PodEventReply.error(version, PodEventReply.TRY_AGAIN, "pod " + key + " is not captured", "");
        }
        List<String> problems;
        try {
            problems = c.verify();
        } catch (IOException e) {
            problems = List.of("cannot inspect the pod's namespace: " + e.getMessage());
        }
        return problems.isEmpty()
                ? PodEventReply.ok("")
                : PodEventReply.error(
                        version,
                        PodEventReply.TRY_AGAIN,
                        "pod " + key + " capture is incomplete",
                        String.join("; ", problems));
    }

    /**
     * Pods of this node the mesh says belong in it (enrolled namespace, not opted out, with an IP: running) that
     * this agent has not captured. A pod started before its namespace was enrolled got no CNI ADD from Ferry, and
     * Ferry does not reach into running pods it was not handed: such pods must be restarted.
     */
    public List<String> uncaptured(MeshSnapshot s) {
        return s.workloadsOnNode(nodeName).stream()
                .filter(w -> w.inMesh() && !w.ips().isEmpty() && !captured.containsKey(w.key()))
                .map(Workload::key)
                .sorted()
                .toList();
    }

    public int capturedCount() {
        return captured.size();
    }

    public boolean isCaptured(String podKey) {
        return captured.containsKey(podKey);
    }

    /**
     * Stops every pod's listeners (the start of a drain): the namespaces stay open for the connections still
     * running, which may yet open upstream sockets there (a new CONNECT stream on an HBONE connection, say).
     */
    public void stopListening() {
        captured.values().forEach(PodCapture::stopListening);
    }

    /** Closes every pod's listeners and namespaces (agent shutdown); rules and the persisted registry stay. */
    public void closeAll() {
        captured.values().forEach(PodCapture::close);
        captured.clear();
    }

    private static boolean sameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }

    static Map<String, String> parseArgs(String cniArgs) {
        Map<String, String> m = new HashMap<>();
        for (String kv : cniArgs.split(";")) {
            int eq = kv.indexOf('=');
            if (eq > 0) {
                m.put(kv.substring(0, eq), kv.substring(eq + 1));
            }
        }
        return m;
    }
}
