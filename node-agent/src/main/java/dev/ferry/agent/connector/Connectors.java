package dev.ferry.agent.connector;

import dev.ferry.mesh.Workload;

/**
 * Chooses the connector by the destination: HBONE when the source is a mesh workload and the destination a mesh
 * pod (and outbound HBONE is on), plain TCP otherwise — inbound delivery to the app is always plain TCP.
 *
 * @param hbone the HBONE connector, or null when outbound HBONE is off
 */
public record Connectors(Connector hbone) {
    public Connector plain() {
        return TcpConnector.INSTANCE;
    }

    public Connector forOutbound(Workload source, Workload destination) {
        return hbone != null && source != null && destination != null && destination.inMesh()
                ? hbone
                : TcpConnector.INSTANCE;
    }
}
