package dev.ferry.agent.connector;

import dev.ferry.mesh.Workload;
import java.util.concurrent.atomic.LongAdder;

/**
 * Chooses the connector by the destination: HBONE when the source is a mesh workload and the destination a mesh
 * pod that can answer it — marked captured by its node's agent ({@code hboneOutbound: auto}), or any mesh pod
 * ({@code true}) — plain TCP otherwise; inbound delivery to the app is always plain TCP.
 *
 * @param hbone the HBONE connector, or null when outbound HBONE is off
 * @param onlyCaptured tunnel only to destinations marked captured ({@code auto})
 * @param uncaptured connections and requests sent in plaintext because their mesh destination is not captured
 */
public record Connectors(Connector hbone, boolean onlyCaptured, LongAdder uncaptured) {
    /** Outbound HBONE to every mesh pod ({@code null}: off). */
    public Connectors(Connector hbone) {
        this(hbone, false, new LongAdder());
    }

    public Connector plain() {
        return TcpConnector.INSTANCE;
    }

    /** The connector for one connection or request; pure (the labels ask it too). */
    public Connector forOutbound(Workload source, Workload destination) {
        return tunnels(source, destination) ? hbone : TcpConnector.INSTANCE;
    }

    /** The same choice, counted when a mesh destination gets plaintext only because it is not captured. */
    public Connector choose(Workload source, Workload destination) {
        boolean tunnel = tunnels(source, destination);
        if (!tunnel && hbone != null && onlyCaptured && meshPair(source, destination)) {
            uncaptured.increment();
        }
        return tunnel ? hbone : TcpConnector.INSTANCE;
    }

    private boolean tunnels(Workload source, Workload destination) {
        return hbone != null && meshPair(source, destination) && (!onlyCaptured || destination.captured());
    }

    private static boolean meshPair(Workload source, Workload destination) {
        return source != null && destination != null && destination.inMesh();
    }
}
