package dev.ferry.mesh;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A pod as the mesh sees it. Immutable; built once at the edge from a {@code v1 Pod}.
 *
 * @param namedPorts container ports that carry a name (name to number), for Services whose targetPort is a name
 * @param inMesh whether Ferry captures this pod (namespace enrolled, pod not opted out, not hostNetwork)
 * @param ready the pod's Ready condition, which decides whether it is a Service endpoint
 * @param captured the pod carries {@link #CAPTURED_ANNOTATION}: the agent of its node has captured it and serves
 *     HBONE for it, so a source agent may tunnel to it ({@code hboneOutbound: auto})
 */
public record Workload(
        String uid,
        String name,
        String namespace,
        String serviceAccount,
        List<InetAddress> ips,
        String node,
        Map<String, String> labels,
        Map<String, Integer> namedPorts,
        boolean inMesh,
        boolean ready,
        boolean captured) {

    /**
     * Set by the agent on each pod it captures and removed when it releases it — the annotation Istio's CNI sets on
     * the pods it redirects — so other nodes can tell a captured destination from an enrolled pod that is not.
     */
    public static final String CAPTURED_ANNOTATION = "ambient.istio.io/redirection";

    /** A workload whose capture is unknown (not marked). */
    public Workload(
            String uid,
            String name,
            String namespace,
            String serviceAccount,
            List<InetAddress> ips,
            String node,
            Map<String, String> labels,
            Map<String, Integer> namedPorts,
            boolean inMesh,
            boolean ready) {
        this(uid, name, namespace, serviceAccount, ips, node, labels, namedPorts, inMesh, ready, false);
    }

    public Workload {
        Objects.requireNonNull(uid, "uid");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(serviceAccount, "serviceAccount");
        Objects.requireNonNull(node, "node");
        ips = List.copyOf(ips);
        labels = Map.copyOf(labels);
        namedPorts = Map.copyOf(namedPorts);
    }

    public Identity identity(String trustDomain) {
        return new Identity(trustDomain, namespace, serviceAccount);
    }

    public Optional<Integer> namedPort(String portName) {
        return Optional.ofNullable(namedPorts.get(portName));
    }

    /** {@code namespace/name}, the form logs and errors use. */
    public String key() {
        return namespace + "/" + name;
    }
}
