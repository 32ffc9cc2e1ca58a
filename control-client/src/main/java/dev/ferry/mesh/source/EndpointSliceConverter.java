package dev.ferry.mesh.source;

import dev.ferry.mesh.EndpointSlice;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Converts {@code discovery.k8s.io} EndpointSlices ({@code v1}, and {@code v1beta1} for API servers of Kubernetes
 * 1.20 and older) to the mesh model, validated at the edge. An FQDN slice has no address Ferry can send to: it is
 * kept with no endpoints, so its Service still counts as having slices (and routes nowhere), as kube-proxy does.
 */
final class EndpointSliceConverter {
    private EndpointSliceConverter() {}

    static EndpointSlice v1(io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice s)
            throws InvalidDocumentException {
        return convert(
                s.getMetadata(),
                s.getAddressType(),
                s.getPorts(),
                p -> new RawPort(p.getName(), p.getPort(), p.getProtocol()),
                s.getEndpoints(),
                e -> {
                    var c = e.getConditions();
                    return new RawEndpoint(
                            e.getAddresses(),
                            c == null ? null : c.getReady(),
                            c == null ? null : c.getServing(),
                            c == null ? null : c.getTerminating(),
                            e.getTargetRef());
                });
    }

    static EndpointSlice v1beta1(io.fabric8.kubernetes.api.model.discovery.v1beta1.EndpointSlice s)
            throws InvalidDocumentException {
        return convert(
                s.getMetadata(),
                s.getAddressType(),
                s.getPorts(),
                p -> new RawPort(p.getName(), p.getPort(), p.getProtocol()),
                s.getEndpoints(),
                e -> {
                    var c = e.getConditions();
                    return new RawEndpoint(
                            e.getAddresses(),
                            c == null ? null : c.getReady(),
                            c == null ? null : c.getServing(),
                            c == null ? null : c.getTerminating(),
                            e.getTargetRef());
                });
    }

    /** One version's port or endpoint, as read before validation: the two API versions share these fields. */
    private record RawPort(String name, Integer port, String protocol) {}

    private record RawEndpoint(
            List<String> addresses,
            Boolean ready,
            Boolean serving,
            Boolean terminating,
            io.fabric8.kubernetes.api.model.ObjectReference targetRef) {}

    private static <P, E> EndpointSlice convert(
            io.fabric8.kubernetes.api.model.ObjectMeta meta,
            String addressType,
            List<P> specPorts,
            java.util.function.Function<P, RawPort> port,
            List<E> specEndpoints,
            java.util.function.Function<E, RawEndpoint> endpoint)
            throws InvalidDocumentException {
        List<EndpointSlice.Port> ports = new ArrayList<>();
        List<P> ps = specPorts == null ? List.of() : specPorts;
        for (int i = 0; i < ps.size(); i++) {
            RawPort p = port.apply(ps.get(i));
            ports.add(port(p.name(), p.port(), p.protocol(), "ports[" + i + "]"));
        }
        boolean ip = family(addressType);
        List<EndpointSlice.SliceEndpoint> endpoints = new ArrayList<>();
        List<E> es = specEndpoints == null ? List.of() : specEndpoints;
        for (int i = 0; i < es.size() && ip; i++) {
            RawEndpoint e = endpoint.apply(es.get(i));
            endpoints.add(endpoint(
                    addressType,
                    e.addresses(),
                    e.ready(),
                    e.serving(),
                    e.terminating(),
                    e.targetRef(),
                    "endpoints[" + i + "]"));
        }
        return slice(meta, ports, endpoints);
    }

    private static EndpointSlice slice(
            io.fabric8.kubernetes.api.model.ObjectMeta meta,
            List<EndpointSlice.Port> ports,
            List<EndpointSlice.SliceEndpoint> endpoints) {
        Map<String, String> labels = meta.getLabels() == null ? Map.of() : meta.getLabels();
        String namespace = meta.getNamespace() == null ? "default" : meta.getNamespace();
        // a slice without the label belongs to no Service (another controller's): kept, used by none
        String service = labels.getOrDefault(EndpointSlice.SERVICE_NAME_LABEL, "");
        return new EndpointSlice(namespace, meta.getName(), service, ports, endpoints);
    }

    /** True for the IP families; false for FQDN; anything else is not a slice Ferry can read. */
    private static boolean family(String addressType) throws InvalidDocumentException {
        if (addressType == null) {
            throw new InvalidDocumentException("field addressType: required");
        }
        return switch (addressType) {
            case "IPv4", "IPv6" -> true;
            case "FQDN" -> false;
            default ->
                throw new InvalidDocumentException(
                        "field addressType: '" + abbreviate(addressType) + "' is not IPv4, IPv6 or FQDN");
        };
    }

    private static EndpointSlice.Port port(String name, Integer port, String protocol, String field)
            throws InvalidDocumentException {
        if (port == null) {
            // legal: "all ports"; Ferry needs a number to send to, so such a port serves nothing here
            return new EndpointSlice.Port(name == null ? "" : name, 0, protocol == null ? "TCP" : protocol);
        }
        if (port < 1 || port > 65535) {
            throw new InvalidDocumentException("field " + field + ".port: " + port + " is not a port (1-65535)");
        }
        return new EndpointSlice.Port(name == null ? "" : name, port, protocol == null ? "TCP" : protocol);
    }

    private static EndpointSlice.SliceEndpoint endpoint(
            String addressType,
            List<String> addresses,
            Boolean ready,
            Boolean serving,
            Boolean terminating,
            io.fabric8.kubernetes.api.model.ObjectReference targetRef,
            String field)
            throws InvalidDocumentException {
        List<String> given = addresses == null ? List.of() : addresses;
        if (given.isEmpty()) {
            throw new InvalidDocumentException("field " + field + ".addresses: at least one address is required");
        }
        List<InetAddress> ips = new ArrayList<>();
        for (int i = 0; i < given.size(); i++) {
            String f = field + ".addresses[" + i + "]";
            InetAddress a = ModelConverter.ip(given.get(i), f);
            if ((a instanceof Inet4Address) != "IPv4".equals(addressType)) {
                throw new InvalidDocumentException(
                        "field " + f + ": '" + a.getHostAddress() + "' is not of addressType " + addressType);
            }
            ips.add(a);
        }
        boolean pod = targetRef != null && "Pod".equals(targetRef.getKind()) && targetRef.getName() != null;
        // kube-proxy's reading: unknown readiness counts as ready, unknown termination as not terminating
        boolean isReady = ready == null || ready;
        return new EndpointSlice.SliceEndpoint(
                ips,
                isReady,
                serving == null ? isReady : serving,
                terminating != null && terminating,
                pod ? (targetRef.getNamespace() == null ? null : targetRef.getNamespace()) : null,
                pod ? targetRef.getName() : null);
    }

    private static String abbreviate(String s) {
        return s.length() > 32 ? s.substring(0, 32) + "..." : s;
    }
}
