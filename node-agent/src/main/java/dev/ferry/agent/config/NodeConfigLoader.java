package dev.ferry.agent.config;

import dev.ferry.cni.install.ConflistInstaller;
import dev.ferry.mesh.Cidr;
import dev.ferry.net.IpLiteral;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Builds a {@link NodeConfig}: defaults, then the YAML file, then {@code FERRY_*} environment variables. Unknown
 * keys and bad values are errors that name the key and where it came from.
 */
public final class NodeConfigLoader {
    /** One documented key: YAML name, environment variable, default, meaning. */
    public record Key(String name, String defaultValue, String meaning) {
        public String env() {
            return "FERRY_" + name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
        }
    }

    public static final List<Key> KEYS = List.of(
            new Key(
                    "nodeName",
                    "$NODE_NAME, else the host name",
                    "this node's name; pods with this spec.nodeName are local"),
            new Key("meshFile", "/etc/ferry/mesh", "mesh YAML file or directory of them (a ConfigMap mount)"),
            new Key("meshPollInterval", "2s", "re-read the mesh files at least this often (inotify also triggers)"),
            new Key(
                    "meshSource",
                    "file",
                    "where the mesh state comes from: file (meshFile) or kubernetes (the API server, watched; the DaemonSet's setting)"),
            new Key(
                    "kubeconfig",
                    "",
                    "kubeconfig file for meshSource kubernetes; empty: the pod's service account (in-cluster), else $KUBECONFIG or ~/.kube/config"),
            new Key("trustDomain", "cluster.local", "SPIFFE trust domain of workload identities"),
            new Key(
                    "caAddress",
                    "",
                    "the Istio CA protocol endpoint, host:port (istiod: istiod.istio-system.svc:15012); empty: the local CA"),
            new Key("caServerName", "", "name the CA's TLS certificate must carry; empty: the host of caAddress"),
            new Key("caRootFile", "", "PEM roots that sign the CA's TLS certificate (caAddress)"),
            new Key(
                    "caTokenFile",
                    "/var/run/secrets/tokens/istio-token",
                    "the agent's projected service-account token (audience istio-ca), re-read on every CA call"),
            new Key(
                    "trustBundleFile",
                    "",
                    "PEM roots workload certificates must chain to (caAddress; the local CA is its own bundle)"),
            new Key(
                    "caCertFile",
                    "",
                    "local CA certificate (PEM); empty: <stateDir>/ca.pem, generated on first run (demo and tests only: see Identity)"),
            new Key("caKeyFile", "", "local CA private key (PEM); empty: <stateDir>/ca-key.pem"),
            new Key("certificateValidity", "24h", "lifetime of workload certificates; renewed at half-life"),
            new Key(
                    "hboneOutbound",
                    "auto",
                    "auto: tunnel meshed pods' connections over HBONE (mTLS to the pod's 15008) to pods marked captured (ambient.istio.io/redirection: enabled), plaintext to others; true: to every mesh pod; false: never"),
            new Key(
                    "l7Outbound",
                    "false",
                    "parse HTTP/1.1 on Service ports whose protocol is http (appProtocol or port name): per-request routing by HTTPRoute, balancing and request metrics; off: those ports are relayed as TCP"),
            new Key(
                    "rootNamespace",
                    "istio-system",
                    "AuthorizationPolicy documents in this namespace apply mesh-wide (Istio's root namespace)"),
            new Key("clusterDomain", "cluster.local", "DNS suffix for destination_service names"),
            new Key("transport", "auto", "auto (io_uring, else epoll, else nio), io_uring, epoll or nio"),
            new Key("relay", "copy", "copy (through user memory, any transport) or splice (kernel pipe, epoll only)"),
            new Key("eventLoops", "0", "event-loop threads; 0 = available CPUs"),
            new Key("captureAddress", "127.0.0.1", "address of the node-level outbound/inbound capture listeners"),
            new Key("outboundPort", "15001", "outbound capture port (original destination via SO_ORIGINAL_DST)"),
            new Key("inboundPort", "15006", "inbound plaintext capture port"),
            new Key("adminAddress", "127.0.0.1", "admin API address (keep it on localhost)"),
            new Key("adminPort", "15000", "admin API port: /config_dump, /logging, /quitquitquit"),
            new Key("metricsAddress", "0.0.0.0", "address of the metrics and readiness listeners"),
            new Key("metricsPort", "15020", "Prometheus port: /metrics, /stats/prometheus"),
            new Key("readinessPort", "15021", "readiness port: /healthz/ready"),
            new Key("connectTimeout", "5s", "upstream connect timeout"),
            new Key("idleTimeout", "1h", "close a relayed connection with no bytes either way for this long"),
            new Key(
                    "firstByteTimeout",
                    "60s",
                    "close a relayed connection that has moved no byte either way this long after it opened"),
            new Key(
                    "httpHeadTimeout",
                    "10s",
                    "an HTTP client must send a whole request head this long after its first byte: else 408 and close"),
            new Key("httpIdleTimeout", "5m", "close a keep-alive HTTP client connection with no request for this long"),
            new Key("halfCloseTimeout", "30s", "after one side sent FIN, close both if the other is not done by then"),
            new Key("drainTimeout", "25s", "on SIGTERM, wait this long for open connections before closing them"),
            new Key("tcpKeepalive", "true", "TCP keepalive on both sides of every relayed connection"),
            new Key("keepaliveIdle", "60s", "idle time before the first keepalive probe"),
            new Key(
                    "unknownDestination",
                    "passthrough",
                    "outbound to a non-Service, non-mesh address: passthrough or reject"),
            new Key("maxConnections", "9000", "relayed connections open at once, node-wide (each costs two fds)"),
            new Key(
                    "maxConnectionsPerWorkload",
                    "4096",
                    "relayed connections open at once per source workload (outbound) and per destination workload"
                            + " (inbound)"),
            new Key(
                    "maxConnectionsPerSource",
                    "1024",
                    "inbound connections open at once per source IP (plaintext and HBONE streams; 15008 before TLS"
                            + " too)"),
            new Key(
                    "reservedConnectionsPercent",
                    "10",
                    "the last share of maxConnections, admitting only sources holding fewer than 64 (a new workload"
                            + " always gets in)"),
            new Key(
                    "listenerWorkload",
                    "",
                    "namespace/name of the pod that owns the node-level listeners (empty: none)"),
            new Key("accessLog", "true", "one JSON access-log line per connection"),
            new Key(
                    "podEventSocket",
                    "",
                    "Unix socket the CNI plugin calls (e.g. /var/run/ferry/cni.sock); empty: off"),
            new Key(
                    "enrolledNamespacesFile",
                    "",
                    "file the CNI plugin reads, kept in step with the mesh (e.g. /var/lib/ferry/enrolled-namespaces); empty: off"),
            new Key(
                    "stateDir",
                    "",
                    "captured pods persisted here, re-attached after a restart (e.g. /var/lib/ferry); empty: off"),
            new Key(
                    "podCidrs",
                    "",
                    "this node's pod ranges, comma-separated (e.g. 10.244.1.0/24); a pod IP outside them is refused; empty: no check"),
            new Key(
                    "probeSnat",
                    "kubelet",
                    "node-originated connections to captured pods that bypass the agent with the probe address: kubelet (the kubelet's cgroup), node (all) or off"),
            new Key(
                    "kubeletCgroup",
                    "system.slice/kubelet.service",
                    "the kubelet's cgroup v2 path below the hierarchy root (probeSnat: kubelet)"),
            new Key(
                    "probeAddress",
                    "169.254.7.127",
                    "IPv4 source address probe connections get; the in-pod rules let it through"),
            new Key(
                    "cniConfDir",
                    "",
                    "the node's CNI config dir (e.g. /host/etc/cni/net.d): the agent keeps Ferry in the chain there; empty: off"),
            new Key(
                    "cniMode",
                    "own",
                    "own (Ferry's 00-ferry.conflist: the primary's plugins then Ferry; survives primary rewrites) or chain (append to the primary's file)"),
            new Key(
                    "cniExcludedNamespaces",
                    "kube-system,ferry-system",
                    "namespaces whose pods the plugin never sends to the agent (they start while it is down)"),
            new Key(
                    "cniUnplacedPods",
                    "fail",
                    "a CNI call without K8S_POD_NAMESPACE: fail (the pod does not start; Kubernetes always passes it) or passthrough (starts without Ferry: non-Kubernetes runtimes on the node)"),
            new Key(
                    "hostNetns",
                    "",
                    "the node's network namespace for the probe rule (e.g. /host/proc/1/ns/net); empty: the agent's own"));

    private static final Pattern CGROUP_PATH = Pattern.compile("^[A-Za-z0-9_.@:-]+(/[A-Za-z0-9_.@:-]+)*$");
    private static final Pattern WORKLOAD_REF = Pattern.compile("^[a-z0-9-.]+/[a-z0-9-.]+$");

    private NodeConfigLoader() {}

    public static NodeConfig load(Path file, Map<String, String> env) throws ConfigException {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> origin = new LinkedHashMap<>();
        if (file != null) {
            readFile(file, values, origin);
        }
        for (Key k : KEYS) {
            String v = env.get(k.env());
            if (v != null) {
                values.put(k.name(), v);
                origin.put(k.name(), "env " + k.env());
            }
        }
        return new Builder(values, origin, env).build();
    }

    private static void readFile(Path file, Map<String, String> values, Map<String, String> origin)
            throws ConfigException {
        JsonNode root;
        try {
            root = new YAMLMapper().readTree(Files.readString(file));
        } catch (IOException | JacksonException e) {
            throw new ConfigException("config " + file + ": cannot read: " + e.getMessage(), e);
        }
        if (root == null || root.isNull() || root.isMissingNode()) {
            return; // an empty file means all defaults
        }
        if (!root.isObject()) {
            throw new ConfigException("config " + file + ": must be a mapping of keys to values");
        }
        TreeSet<String> known = new TreeSet<>();
        KEYS.forEach(k -> known.add(k.name()));
        for (var e : root.properties()) {
            if (!known.contains(e.getKey())) {
                throw new ConfigException("config " + file + ": unknown key '" + e.getKey() + "' (known: "
                        + String.join(", ", known) + ")");
            }
            if (!e.getValue().isValueNode()) {
                throw new ConfigException("config " + file + ": key '" + e.getKey() + "' must be a scalar");
            }
            values.put(e.getKey(), e.getValue().asString());
            origin.put(e.getKey(), "config " + file);
        }
    }

    private static final class Builder {
        private final Map<String, String> values;
        private final Map<String, String> origin;
        private final Map<String, String> env;

        Builder(Map<String, String> values, Map<String, String> origin, Map<String, String> env) {
            this.values = values;
            this.origin = origin;
            this.env = env;
        }

        /** Keys whose values become file paths: a NUL byte there is no path, and Path.of would throw unnamed. */
        private static final List<String> PATH_KEYS = List.of(
                "meshFile",
                "kubeconfig",
                "caRootFile",
                "caTokenFile",
                "trustBundleFile",
                "caCertFile",
                "caKeyFile",
                "podEventSocket",
                "enrolledNamespacesFile",
                "stateDir",
                "hostNetns",
                "cniConfDir");

        NodeConfig build() throws ConfigException {
            for (String key : PATH_KEYS) {
                if (str(key).indexOf('\0') >= 0) {
                    throw error(key, str(key).replace('\0', '?'), "a path cannot contain a NUL byte");
                }
            }
            String workload = str("listenerWorkload");
            if (!workload.isEmpty() && !WORKLOAD_REF.matcher(workload).matches()) {
                throw error("listenerWorkload", workload, "expected namespace/name");
            }
            if ("splice".equalsIgnoreCase(str("relay")) && !"epoll".equalsIgnoreCase(str("transport"))) {
                // Netty's splice exists on its epoll transport only; auto would pick io_uring where it can.
                throw error(
                        "relay", str("relay"), "splice needs transport: epoll (transport is " + str("transport") + ")");
            }
            return new NodeConfig(
                    nodeName(),
                    Path.of(str("meshFile")),
                    duration("meshPollInterval"),
                    parse("meshSource", v -> NodeConfig.MeshSourceKind.valueOf(v.toUpperCase(Locale.ROOT))),
                    str("kubeconfig"),
                    str("trustDomain"),
                    caAddress(),
                    str("caServerName"),
                    str("caRootFile"),
                    str("caTokenFile"),
                    str("trustBundleFile"),
                    str("caCertFile"),
                    str("caKeyFile"),
                    positive("certificateValidity"),
                    parse("hboneOutbound", v -> switch (v.toLowerCase(Locale.ROOT)) {
                        case "auto" -> NodeConfig.HboneOutbound.AUTO;
                        case "true" -> NodeConfig.HboneOutbound.ALWAYS;
                        case "false" -> NodeConfig.HboneOutbound.OFF;
                        default -> throw new IllegalArgumentException("expected auto, true or false");
                    }),
                    bool("l7Outbound"),
                    str("rootNamespace"),
                    str("clusterDomain"),
                    parse("transport", v -> NodeConfig.TransportKind.valueOf(v.toUpperCase(Locale.ROOT))),
                    parse("relay", v -> NodeConfig.RelayMode.valueOf(v.toUpperCase(Locale.ROOT))),
                    range("eventLoops", 0, 256),
                    address("captureAddress"),
                    port("outboundPort"),
                    port("inboundPort"),
                    address("adminAddress"),
                    port("adminPort"),
                    address("metricsAddress"),
                    port("metricsPort"),
                    port("readinessPort"),
                    positive("connectTimeout"),
                    positive("idleTimeout"),
                    positive("firstByteTimeout"),
                    positive("httpHeadTimeout"),
                    positive("httpIdleTimeout"),
                    positive("halfCloseTimeout"),
                    duration("drainTimeout"),
                    bool("tcpKeepalive"),
                    positive("keepaliveIdle"),
                    parse("unknownDestination", v -> NodeConfig.UnknownDestination.valueOf(v.toUpperCase(Locale.ROOT))),
                    range("maxConnections", 1, 10_000_000),
                    range("maxConnectionsPerWorkload", 1, 10_000_000),
                    range("maxConnectionsPerSource", 1, 10_000_000),
                    range("reservedConnectionsPercent", 0, 50),
                    workload,
                    bool("accessLog"),
                    str("podEventSocket"),
                    str("enrolledNamespacesFile"),
                    str("stateDir"),
                    podCidrs(),
                    parse("probeSnat", v -> NodeConfig.ProbeSnat.valueOf(v.toUpperCase(Locale.ROOT))),
                    kubeletCgroup(),
                    probeAddress(),
                    str("hostNetns"),
                    cniConfDir(),
                    parse("cniMode", v -> ConflistInstaller.Mode.valueOf(v.toUpperCase(Locale.ROOT))),
                    List.of(str("cniExcludedNamespaces").replace(" ", "").split(",")).stream()
                            .filter(n -> !n.isEmpty())
                            .toList(),
                    parse("cniUnplacedPods", v -> NodeConfig.UnplacedPods.valueOf(v.toUpperCase(Locale.ROOT))));
        }

        private String caAddress() throws ConfigException {
            String v = str("caAddress");
            if (v.isEmpty()) {
                return v;
            }
            if (!v.matches("^[A-Za-z0-9.-]+:\\d{1,5}$")) {
                throw error("caAddress", v, "expected host:port");
            }
            for (String needed : List.of("caRootFile", "trustBundleFile")) {
                if (str(needed).isEmpty()) {
                    throw error("caAddress", v, "needs " + needed + " too");
                }
            }
            return v;
        }

        private String cniConfDir() throws ConfigException {
            String v = str("cniConfDir");
            if (!v.isEmpty() && str("podEventSocket").isEmpty()) {
                throw error("cniConfDir", v, "needs podEventSocket: the plugin it installs calls the agent there");
            }
            return v;
        }

        private String kubeletCgroup() throws ConfigException {
            String v = str("kubeletCgroup").strip();
            String trimmed = v.replaceAll("^/+|/+$", "");
            // The path goes into an nft rule: no quotes, no spaces, no parent references.
            if (!CGROUP_PATH.matcher(trimmed).matches()
                    || List.of(trimmed.split("/")).contains("..")) {
                throw error("kubeletCgroup", v, "expected a cgroup path such as system.slice/kubelet.service");
            }
            return trimmed;
        }

        private InetAddress probeAddress() throws ConfigException {
            InetAddress a = address("probeAddress");
            if (!(a instanceof java.net.Inet4Address)) {
                throw error("probeAddress", str("probeAddress"), "must be an IPv4 address (169.254.7.127 by default)");
            }
            return a;
        }

        private List<Cidr> podCidrs() throws ConfigException {
            String v = str("podCidrs").trim();
            List<Cidr> cidrs = new ArrayList<>();
            for (String cidr : v.isEmpty() ? new String[0] : v.split(",")) {
                try {
                    cidrs.add(Cidr.parse(cidr.trim()));
                } catch (IllegalArgumentException e) {
                    throw error("podCidrs", v, e.getMessage());
                }
            }
            return cidrs;
        }

        private String nodeName() throws ConfigException {
            String v = values.get("nodeName");
            if (v == null || v.isEmpty()) {
                v = env.getOrDefault("NODE_NAME", "");
            }
            if (v.isEmpty()) {
                try {
                    v = InetAddress.getLocalHost().getHostName();
                } catch (UnknownHostException e) {
                    throw new ConfigException("nodeName: not set and the host name is unknown; set FERRY_NODE_NAME", e);
                }
            }
            return v;
        }

        private String str(String key) {
            String v = values.get(key);
            if (v != null) {
                return v;
            }
            for (Key k : KEYS) {
                if (k.name().equals(key)) {
                    return k.defaultValue();
                }
            }
            throw new IllegalArgumentException("undocumented key " + key);
        }

        private <T> T parse(String key, Function<String, T> parser) throws ConfigException {
            String v = str(key);
            try {
                return parser.apply(v.trim());
            } catch (IllegalArgumentException e) {
                throw error(key, v, e.getMessage());
            }
        }

        private Duration duration(String key) throws ConfigException {
            Duration d = parse(key, Durations::parse);
            if (d.isNegative()) {
                throw error(key, str(key), "must not be negative");
            }
            return d;
        }

        private Duration positive(String key) throws ConfigException {
            Duration d = duration(key);
            if (d.isZero()) {
                throw error(key, str(key), "must be greater than zero");
            }
            return d;
        }

        private int range(String key, int min, int max) throws ConfigException {
            int n = parse(key, Integer::parseInt);
            if (n < min || n > max) {
                throw error(key, str(key), "must be between " + min + " and " + max);
            }
            return n;
        }

        private int port(String key) throws ConfigException {
            return range(key, 0, 65535); // 0 asks the kernel for a free port (tests)
        }

        private boolean bool(String key) throws ConfigException {
            return parse(key, v -> switch (v.toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw new IllegalArgumentException("expected true or false");
            });
        }

        private InetAddress address(String key) throws ConfigException {
            String v = str(key);
            InetAddress a = IpLiteral.parseOrNull(v);
            if (a == null) {
                throw error(key, v, "expected an IP literal");
            }
            return a;
        }

        private ConfigException error(String key, String value, String why) {
            String from = origin.getOrDefault(key, "default");
            return new ConfigException(key + " = '" + value + "' (from " + from + "): " + why);
        }
    }
}
