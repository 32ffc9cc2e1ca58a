package dev.ferry.agent.config;

import dev.ferry.cni.install.ConflistInstaller;
import dev.ferry.mesh.Cidr;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The node agent's effective configuration: one YAML file, then {@code FERRY_*} environment overrides. Every key
 * is documented in the README's configuration table; {@link NodeConfigLoader} is the only place that builds one.
 */
public record NodeConfig(
        String nodeName,
        Path meshFile,
        Duration meshPollInterval,
        MeshSourceKind meshSource,
        String kubeconfig,
        String trustDomain,
        String caAddress,
        String caServerName,
        String caRootFile,
        String caTokenFile,
        String trustBundleFile,
        String caCertFile,
        String caKeyFile,
        Duration certificateValidity,
        HboneOutbound hboneOutbound,
        boolean l7Outbound,
        String rootNamespace,
        String clusterDomain,
        TransportKind transport,
        RelayMode relay,
        int eventLoops,
        InetAddress captureAddress,
        int outboundPort,
        int inboundPort,
        InetAddress adminAddress,
        int adminPort,
        InetAddress metricsAddress,
        int metricsPort,
        int readinessPort,
        Duration connectTimeout,
        Duration idleTimeout,
        Duration firstByteTimeout,
        Duration httpHeadTimeout,
        Duration httpIdleTimeout,
        Duration halfCloseTimeout,
        Duration drainTimeout,
        boolean tcpKeepalive,
        Duration keepaliveIdle,
        UnknownDestination unknownDestination,
        int maxConnections,
        int maxConnectionsPerWorkload,
        int maxConnectionsPerSource,
        int reservedConnectionsPercent,
        String listenerWorkload,
        boolean accessLog,
        String podEventSocket,
        String enrolledNamespacesFile,
        String stateDir,
        List<Cidr> podCidrs,
        ProbeSnat probeSnat,
        String kubeletCgroup,
        InetAddress probeAddress,
        String hostNetns,
        String cniConfDir,
        ConflistInstaller.Mode cniMode,
        List<String> cniExcludedNamespaces,
        UnplacedPods cniUnplacedPods) {

    /**
     * What the CNI plugin does with a call that names no pod namespace ({@code K8S_POD_NAMESPACE} missing from
     * {@code CNI_ARGS}): it cannot tell whether the pod is enrolled.
     */
    public enum UnplacedPods {
        /** ADD and CHECK fail naming the missing argument: an enrolled pod never starts uncaptured (Kubernetes). */
        FAIL,
        /** Started without Ferry: for a node whose runtime also runs non-Kubernetes containers (podman, say). */
        PASSTHROUGH
    }

    /** Which outbound connections to mesh pods tunnel over HBONE. */
    public enum HboneOutbound {
        /** To pods marked captured by their node's agent; plaintext (counted) to enrolled pods not captured. */
        AUTO,
        /** To every mesh pod, captured or not (a pod no agent serves refuses 15008: the connection fails). */
        ALWAYS,
        OFF
    }

    /** Where the mesh state comes from. */
    public enum MeshSourceKind {
        /** The mesh file (or directory): the binary's default, the simulation's and the demo's. */
        FILE,
        /** The Kubernetes API server, through informers: the DaemonSet's. */
        KUBERNETES
    }

    public enum TransportKind {
        AUTO,
        IO_URING,
        EPOLL,
        NIO
    }

    /** How bytes move between the two sockets of a plaintext connection. */
    public enum RelayMode {
        /** Through user memory, on any transport; the default (see the README's measurements). */
        COPY,
        /** {@code splice(2)} through a kernel pipe; epoll only; six fds per connection instead of two. */
        SPLICE
    }

    /**
     * Which connections the node itself opens to captured pods get the probe source address and so reach the app
     * directly (kubelet probes keep working in STRICT mode). See {@code HostRules}.
     */
    public enum ProbeSnat {
        /** Only sockets of the kubelet's cgroup: hostNetwork pods are not exempt. */
        KUBELET,
        /** Every connection the node originates (Istio ambient's rule). */
        NODE,
        OFF
    }

    /** What the outbound listener does with a destination that is neither a Service VIP nor a mesh pod. */
    public enum UnknownDestination {
        PASSTHROUGH,
        REJECT
    }

    public NodeConfig {
        Objects.requireNonNull(nodeName, "nodeName");
        Objects.requireNonNull(meshFile, "meshFile");
        Objects.requireNonNull(meshSource, "meshSource");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(relay, "relay");
        podCidrs = List.copyOf(podCidrs);
        cniExcludedNamespaces = List.copyOf(cniExcludedNamespaces);
        Objects.requireNonNull(cniUnplacedPods, "cniUnplacedPods");
        Objects.requireNonNull(captureAddress, "captureAddress");
        Objects.requireNonNull(unknownDestination, "unknownDestination");
    }
}
