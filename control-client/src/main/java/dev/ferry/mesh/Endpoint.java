package dev.ferry.mesh;

import java.net.InetSocketAddress;
import java.util.Objects;

/** A ready workload serving a Service port, at the address its targetPort resolved to. */
public record Endpoint(Workload workload, InetSocketAddress address) {
    public Endpoint {
        Objects.requireNonNull(workload, "workload");
        Objects.requireNonNull(address, "address");
    }
}
