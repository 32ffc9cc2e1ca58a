package dev.ferry.mesh.lb;

import java.util.Map;

/**
 * The part of an Istio {@code DestinationRule} Ferry enforces: the load balancer for a host, for all its ports and
 * per port.
 *
 * @param host as written: a Service's short name (relative to the rule's namespace), {@code name.namespace}, or its
 *     full name
 * @param loadBalancing null when the rule names none for all ports
 * @param ports per Service port number
 */
public record DestinationRule(
        String namespace, String name, String host, LoadBalancing loadBalancing, Map<Integer, LoadBalancing> ports) {
    public DestinationRule {
        ports = Map.copyOf(ports);
    }

    public String key() {
        return namespace + "/" + name;
    }

    /**
     * The Service {@code host} names: a short name is in the rule's namespace, {@code name.namespace} and
     * {@code name.namespace.svc[...]} name their own; null for a host that cannot be a Service's name.
     */
    public Target target() {
        String[] parts = host.split("\\.", -1);
        if (parts.length == 1) {
            return new Target(namespace, parts[0]);
        }
        return parts.length == 2 || parts[2].equals("svc") ? new Target(parts[1], parts[0]) : null;
    }

    /** A Service by namespace and name. */
    public record Target(String namespace, String name) {}

    /** The policy for one port: the port's own, else the rule's, else null. */
    public LoadBalancing forPort(int port) {
        LoadBalancing p = ports.get(port);
        return p != null ? p : loadBalancing;
    }
}
