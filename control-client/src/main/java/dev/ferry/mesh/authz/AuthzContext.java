package dev.ferry.mesh.authz;

import java.net.InetAddress;
import java.util.Map;
import java.util.function.Function;

/**
 * What a decision is made on. Source attributes come only from the verified peer certificate (principal and
 * namespace; null for a plaintext peer) and the TCP peer (IP) — never from a header.
 *
 * @param sourcePrincipal without {@code spiffe://}, e.g. {@code cluster.local/ns/prod/sa/web}; null if plaintext
 * @param destinationPort the workload's (target) port
 * @param http the request's attributes when the connection is parsed as HTTP; null otherwise
 */
public record AuthzContext(
        InetAddress sourceIp,
        String sourcePrincipal,
        String sourceNamespace,
        String workloadNamespace,
        Map<String, String> workloadLabels,
        int destinationPort,
        Http http) {

    /**
     * @param headers a header's value by its lower-case name (null when absent; a repeated header's values joined
     *     with {@code ,}, as Envoy presents them); read only by a condition that names the header, so nothing is
     *     copied for a request no such condition looks at
     */
    public record Http(String method, String path, String host, Function<String, String> headers) {}

    /** The same connection with one request's attributes. */
    public AuthzContext withHttp(Http request) {
        return new AuthzContext(
                sourceIp,
                sourcePrincipal,
                sourceNamespace,
                workloadNamespace,
                workloadLabels,
                destinationPort,
                request);
    }

    public static AuthzContext plaintext(
            InetAddress sourceIp, String workloadNamespace, Map<String, String> workloadLabels, int port) {
        return new AuthzContext(sourceIp, null, null, workloadNamespace, workloadLabels, port, null);
    }
}
