package dev.ferry.mesh.source;

import dev.ferry.mesh.EndpointSlice;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.JsonNode;

/**
 * Converts {@code discovery.k8s.io} EndpointSlices ({@code v1}, and {@code v1beta1} for API servers of Kubernetes
 * 1.20 and older) to the mesh model, validated at the edge. An FQDN slice has no address Ferry can send to: it is
 * kept with no endpoints, so its Service still counts as having slices (and routes nowhere), as kube-proxy does.
 */
final class EndpointSliceConverter {
    private EndpointSliceConverter() {}

    /** Both API versions: the fields Ferry reads are the same in {@code v1} and {@code v1beta1}. */
    static EndpointSlice convert(JsonNode s) throws InvalidDocumentException {
        List<EndpointSlice.Port> ports = new ArrayList<>();
        JsonNode ps = Fields.list(s.path("ports"), "ports");
        for (int i = 0; i < ps.size(); i++) {
            JsonNode p = ps.get(i);
            String field = "ports[" + i + "]";
            ports.add(port(
                    Fields.text(p.path("name"), field + ".name"),
                    Fields.integer(p.path("port"), field + ".port"),
                    Fields.text(p.path("protocol"), field + ".protocol"),
                    field));
        }
        String addressType = Fields.text(s.path("addressType"), "addressType");
        boolean ip = family(addressType);
        List<EndpointSlice.SliceEndpoint> endpoints = new ArrayList<>();
        JsonNode es = Fields.list(s.path("endpoints"), "endpoints");
        for (int i = 0; i < es.size() && ip; i++) {
            endpoints.add(endpoint(addressType, es.get(i), "endpoints[" + i + "]"));
        }
        JsonNode meta = s.path("metadata");
        Map<String, String> labels = Fields.strings(meta.path("labels"), "metadata.labels");
        // a slice without the label belongs to no Service (another controller's): kept, used by none
        String service = labels.getOrDefault(EndpointSlice.SERVICE_NAME_LABEL, "");
        return new EndpointSlice(
                Fields.text(meta.path("namespace"), "metadata.namespace", "default"),
                Fields.text(meta.path("name"), "metadata.name", ""),
                service,
                ports,
                endpoints);
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
                        "field addressType: '" + Fields.abbreviate(addressType) + "' is not IPv4, IPv6 or FQDN");
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

    private static EndpointSlice.SliceEndpoint endpoint(String addressType, JsonNode e, String field)
            throws InvalidDocumentException {
        JsonNode given = Fields.list(e.path("addresses"), field + ".addresses");
        if (given.isEmpty()) {
            throw new InvalidDocumentException("field " + field + ".addresses: at least one address is required");
        }
        List<InetAddress> ips = new ArrayList<>();
        for (int i = 0; i < given.size(); i++) {
            String f = field + ".addresses[" + i + "]";
            InetAddress a = ModelConverter.ip(Fields.text(given.get(i), f), f);
            if ((a instanceof Inet4Address) != "IPv4".equals(addressType)) {
                throw new InvalidDocumentException(
                        "field " + f + ": '" + a.getHostAddress() + "' is not of addressType " + addressType);
            }
            ips.add(a);
        }
        JsonNode c = e.path("conditions");
        Boolean ready = Fields.bool(c.path("ready"), field + ".conditions.ready");
        Boolean serving = Fields.bool(c.path("serving"), field + ".conditions.serving");
        Boolean terminating = Fields.bool(c.path("terminating"), field + ".conditions.terminating");
        JsonNode ref = e.path("targetRef");
        String refName = Fields.text(ref.path("name"), field + ".targetRef.name");
        boolean pod = "Pod".equals(Fields.text(ref.path("kind"), field + ".targetRef.kind")) && refName != null;
        // kube-proxy's reading: unknown readiness counts as ready, unknown termination as not terminating
        boolean isReady = ready == null || ready;
        return new EndpointSlice.SliceEndpoint(
                ips,
                isReady,
                serving == null ? isReady : serving,
                terminating != null && terminating,
                pod ? Fields.text(ref.path("namespace"), field + ".targetRef.namespace") : null,
                pod ? refName : null);
    }
}
