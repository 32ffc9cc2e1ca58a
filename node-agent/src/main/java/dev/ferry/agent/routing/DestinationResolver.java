package dev.ferry.agent.routing;

import dev.ferry.agent.config.NodeConfig.UnknownDestination;
import dev.ferry.agent.connection.CloseReason;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.Workload;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.Set;

/**
 * Maps an original destination to where the connection goes: Service VIP first, then a mesh pod, then the
 * unknown-destination rule. Pure; reads one snapshot. The endpoint of a
 * Service is picked later, by a balancer, when the bytes are sent.
 */
public final class DestinationResolver {
    private final UnknownDestination unknown;
    private final String nodeName;
    private final Set<InetSocketAddress> ownListeners;

    /**
     * @param ownListeners the agent's bound capture addresses (a concurrent set the caller fills after binding): a
     *     destination equal to one would loop back into Ferry
     */
    public DestinationResolver(UnknownDestination unknown, String nodeName, Set<InetSocketAddress> ownListeners) {
        this.unknown = unknown;
        this.nodeName = nodeName;
        this.ownListeners = ownListeners; // live view: filled in as listeners bind (ports may be ephemeral)
    }

    public Destination outbound(MeshSnapshot snapshot, InetSocketAddress original) {
        if (ownListeners.contains(original)) {
            return new Destination.Refused(CloseReason.NO_ROUTE, "original destination is Ferry's own listener");
        }
        ServiceBinding binding = snapshot.bindingFor(original);
        if (binding != null) {
            return new Destination.ToService(binding);
        }
        Optional<Workload> pod = snapshot.workloadByIp(original.getAddress());
        if (pod.isPresent()) {
            return new Destination.ToWorkload(pod.get(), original);
        }
        return switch (unknown) {
            case PASSTHROUGH -> new Destination.Passthrough(original);
            case REJECT ->
                new Destination.Refused(
                        CloseReason.NO_ROUTE,
                        original + " is neither a Service nor a mesh pod (unknownDestination=reject)");
        };
    }

    /** Inbound capture only delivers to a workload of this node, at the port the client asked for. */
    public Destination inbound(MeshSnapshot snapshot, InetSocketAddress original) {
        if (ownListeners.contains(original)) {
            return new Destination.Refused(CloseReason.NO_ROUTE, "original destination is Ferry's own listener");
        }
        Optional<Workload> pod = snapshot.workloadByIp(original.getAddress());
        if (pod.isEmpty() || !pod.get().node().equals(nodeName)) {
            return new Destination.Refused(
                    CloseReason.NO_ROUTE, original.getAddress().getHostAddress() + " is not a workload on this node");
        }
        return new Destination.ToWorkload(pod.get(), original);
    }
}
