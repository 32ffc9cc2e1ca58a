package dev.ferry.agent.routing;

import dev.ferry.agent.proxy.CloseReason;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.Workload;
import java.net.InetSocketAddress;

/** Where a captured connection goes, decided once per connection from the snapshot it started with. */
public sealed interface Destination {
    /** A Service VIP:port, balanced to one of its ready endpoints. */
    record ToService(ServiceBinding binding, Endpoint endpoint) implements Destination {}

    /** A mesh pod addressed directly by its IP. */
    record ToWorkload(Workload workload, InetSocketAddress address) implements Destination {}

    /** Neither a Service nor a mesh pod: relayed to the original destination as it is. */
    record Passthrough(InetSocketAddress address) implements Destination {}

    /** Refused; the connection closes with {@code reason}. */
    record Refused(CloseReason reason, String detail) implements Destination {}
}
