package dev.ferry.mesh;

import java.util.List;
import java.util.Objects;

/**
 * What a Service VIP:port resolves to: the service, the port, and its ready endpoints (may be empty).
 *
 * @param protocol the port's protocol by Istio's rules ({@link AppProtocol#of}), decided once here rather than from the
 *     port's name per request
 */
public record ServiceBinding(Service service, ServicePort port, List<Endpoint> endpoints, AppProtocol protocol) {
    public ServiceBinding {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(port, "port");
        endpoints = List.copyOf(endpoints);
        Objects.requireNonNull(protocol, "protocol");
    }

    public ServiceBinding(Service service, ServicePort port, List<Endpoint> endpoints) {
        this(service, port, endpoints, AppProtocol.of(port));
    }
}
