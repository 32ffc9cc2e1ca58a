package dev.ferry.agent.hbone;

import dev.ferry.agent.connection.InboundTunnels;
import dev.ferry.agent.net.SocketFactory;
import dev.ferry.mesh.MeshSnapshot;
import java.net.InetAddress;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What a pod's HBONE listener needs from the rest of the agent, each as narrow as it can be.
 *
 * @param sockets the pod's socket factory (the listener lives in the pod's namespace)
 * @param snapshot the current mesh snapshot (the pod's current record, its IPs)
 * @param inbound where parsed CONNECTs go: the proxy's inbound path, which applies policy and connects the app
 * @param admit counts a connection from a source IP against the per-source cap: null when admitted, else why not
 * @param release gives back what {@code admit} counted, when the connection closes
 * @param acceptErrors counts the listener's accept errors, by listener name
 */
public record HboneListener(
        SocketFactory sockets,
        Supplier<MeshSnapshot> snapshot,
        InboundTunnels inbound,
        Function<InetAddress, String> admit,
        Consumer<InetAddress> release,
        Consumer<String> acceptErrors) {}
