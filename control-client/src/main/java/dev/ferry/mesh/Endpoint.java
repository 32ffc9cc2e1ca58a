package dev.ferry.mesh;

import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * An address serving a Service port: a pod's, at the port its targetPort resolved to, or an address an
 * EndpointSlice lists that no known pod owns (a Service whose endpoints are managed by hand).
 *
 * @param workload the pod behind the address, or null when none is known (sent to as plaintext, like any address
 *     outside the mesh)
 */
public record Endpoint(Workload workload, InetSocketAddress address) {
    public Endpoint {
        Objects.requireNonNull(address, "address");
    }

    /** {@code namespace/name@ip:port}, or {@code ip:port} for an address no pod owns: for logs and the config dump. */
    public String describe() {
        String hostPort = address.getAddress().getHostAddress() + ":" + address.getPort();
        return workload == null ? hostPort : workload.key() + "@" + hostPort;
    }
}
