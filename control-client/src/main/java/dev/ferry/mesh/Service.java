package dev.ferry.mesh;

import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A Kubernetes Service. {@code selector} empty means the Service has no selector, so no derived endpoints
 * (Kubernetes leaves those to hand-made EndpointSlices, which Ferry does not read yet).
 */
public record Service(
        String name, String namespace, List<InetAddress> vips, List<ServicePort> ports, Map<String, String> selector) {
    public Service {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(namespace, "namespace");
        vips = List.copyOf(vips);
        ports = List.copyOf(ports);
        selector = Map.copyOf(selector);
    }

    /** The Istio {@code destination_service} form: {@code name.namespace.svc.cluster.local}. */
    public String hostname(String clusterDomain) {
        return name + "." + namespace + ".svc." + clusterDomain;
    }

    public String key() {
        return namespace + "/" + name;
    }

    /** Whether a pod in {@code podNamespace} with {@code podLabels} is selected, as the endpoints controller does. */
    public boolean selects(String podNamespace, Map<String, String> podLabels) {
        if (selector.isEmpty() || !namespace.equals(podNamespace)) {
            return false;
        }
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(podLabels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }
}
