package dev.ferry.mesh.route;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A Gateway API {@code HTTPRoute} (or {@code GRPCRoute}, converted to the same shape) attached to Services — the
 * GAMMA way of routing mesh traffic. A route in the Service's own namespace is a producer route (for every client);
 * one in another namespace is a consumer route (for that namespace's clients only, and over the producer's).
 *
 * @param created the creation timestamp, which orders routes with equal precedence (oldest first); null sorts last
 * @param grpc converted from a {@code GRPCRoute} (its service/method matches are path matches)
 */
public record HttpRoute(
        String namespace,
        String name,
        Instant created,
        List<ParentRef> parents,
        List<HttpRouteRule> rules,
        boolean grpc) {
    public HttpRoute {
        Objects.requireNonNull(namespace, "namespace");
        Objects.requireNonNull(name, "name");
        parents = List.copyOf(parents);
        rules = List.copyOf(rules);
    }

    public String key() {
        return namespace + "/" + name;
    }

    /** A Service this route attaches to, on one port or (port null) all of its ports. */
    public record ParentRef(String namespace, String name, Integer port) {
        public boolean attachesTo(String serviceNamespace, String serviceName, int servicePort) {
            return namespace.equals(serviceNamespace)
                    && name.equals(serviceName)
                    && (port == null || port == servicePort);
        }
    }
}
