package dev.ferry.mesh;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * A {@code discovery.k8s.io} EndpointSlice as the mesh reads it, the way kube-proxy does: the Service it belongs to
 * (its {@code kubernetes.io/service-name} label), its named ports and its endpoints with their conditions. A Service
 * with slices takes its endpoints from them, so a Service without a selector (endpoints managed by hand or by
 * another controller) routes like any other.
 *
 * @param service the owning Service's name, in the slice's namespace
 * @param ports the slice's ports; a port's name matches the Service port's name ({@code ""} for an unnamed one)
 */
public record EndpointSlice(
        String namespace, String name, String service, List<Port> ports, List<SliceEndpoint> endpoints) {

    /** The label by which a slice names its Service. */
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    public EndpointSlice {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(service, "service");
        ports = List.copyOf(ports);
        endpoints = List.copyOf(endpoints);
    }

    /** A slice port: the number every endpoint of the slice serves the named Service port on. */
    public record Port(String name, int port, String protocol) {
        public Port {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(protocol, "protocol");
        }
    }

    /**
     * One endpoint: its addresses (of the slice's family) and conditions, read as kube-proxy reads them (an unset
     * {@code ready} or {@code serving} counts as true, an unset {@code terminating} as false).
     *
     * @param podNamespace the namespace of the Pod its {@code targetRef} names, or null when it names none
     * @param podName the Pod its {@code targetRef} names, or null
     */
    public record SliceEndpoint(
            List<InetAddress> addresses,
            boolean ready,
            boolean serving,
            boolean terminating,
            String podNamespace,
            String podName) {
        public SliceEndpoint {
            addresses = List.copyOf(addresses);
        }
    }

    /** {@code namespace/name}, the form logs and errors use. */
    public String key() {
        return namespace + "/" + name;
    }
}
