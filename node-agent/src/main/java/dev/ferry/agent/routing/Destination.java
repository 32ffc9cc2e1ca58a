package dev.ferry.agent.routing;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.Delivery;
import dev.ferry.mesh.AppProtocol;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.Workload;
import java.net.InetSocketAddress;
import java.util.function.Supplier;

/**
 * Where a captured connection is addressed, decided from the snapshot it started with: a logical target. For a
 * Service the endpoint is not chosen here but when the bytes are sent — once per connection for TCP, per request
 * for HTTP — by a balancer.
 */
public sealed interface Destination {
    /** How the reports tell where this went, before (or without) an endpoint. */
    Delivery delivery(String clusterDomain);

    private static String hostPort(InetSocketAddress a) {
        return a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    /** A Service VIP:port: its port's protocol and its ready endpoints (possibly none) to balance over. */
    record ToService(ServiceBinding binding) implements Destination {
        /** The port's protocol, as the binding decided it. */
        public AppProtocol protocol() {
            return binding.protocol();
        }

        /** Addressed to the Service, no endpoint chosen (none ready). */
        @Override
        public Delivery delivery(String clusterDomain) {
            var service = binding.service();
            return new Delivery(
                    service.key(),
                    service.hostname(clusterDomain),
                    service.namespace(),
                    null,
                    null,
                    () -> "service " + service.key() + ":" + binding.port().port() + " -> no endpoint");
        }

        /** Sent to {@code endpoint}. */
        public Delivery sentTo(Endpoint endpoint, String clusterDomain) {
            var service = binding.service();
            return new Delivery(
                    service.key(),
                    service.hostname(clusterDomain),
                    service.namespace(),
                    endpoint.workload(),
                    endpoint.address(),
                    new SentTo(binding, endpoint));
        }
    }

    /**
     * The config-dump line of a connection sent to a Service's endpoint. A record, not a lambda: made per
     * connection, where a captured lambda is slow (docs/profiling.md).
     */
    record SentTo(ServiceBinding binding, Endpoint endpoint) implements Supplier<String> {
        @Override
        public String get() {
            return "service " + binding.service().key() + ":" + binding.port().port() + " -> " + endpoint.describe();
        }
    }

    /** A mesh pod addressed directly by its IP. */
    record ToWorkload(Workload workload, InetSocketAddress address) implements Destination {
        @Override
        public Delivery delivery(String clusterDomain) {
            return new Delivery(
                    null, null, null, workload, address, () -> "workload " + workload.key() + "@" + hostPort(address));
        }
    }

    /** Neither a Service nor a mesh pod: relayed to the original destination as it is. */
    record Passthrough(InetSocketAddress address) implements Destination {
        @Override
        public Delivery delivery(String clusterDomain) {
            return new Delivery(null, null, null, null, address, () -> "passthrough " + hostPort(address));
        }
    }

    /** Refused; the connection closes with {@code reason}. */
    record Refused(CloseReason reason, String detail) implements Destination {
        @Override
        public Delivery delivery(String clusterDomain) {
            return Delivery.refused(detail);
        }
    }
}
