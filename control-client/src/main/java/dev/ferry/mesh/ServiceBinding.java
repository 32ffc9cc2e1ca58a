package dev.ferry.mesh;

import java.util.List;
import java.util.Objects;

/** What a Service VIP:port resolves to: the service, the port, and its ready endpoints (may be empty). */
public record ServiceBinding(Service service, ServicePort port, List<Endpoint> endpoints) {
    public ServiceBinding {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(port, "port");
        endpoints = List.copyOf(endpoints);
    }
}
