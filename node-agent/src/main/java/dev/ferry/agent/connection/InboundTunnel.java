package dev.ferry.agent.connection;

import dev.ferry.mesh.Identity;
import dev.ferry.mesh.Workload;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * A parsed, authenticated tunnel request to a pod of this node, handed by the tunnel server (HBONE) to the proxy's
 * inbound path — the one the plaintext inbound listener uses too, which applies policy and connects the app.
 *
 * @param stream the tunnel's stream, already adapted to look like a socket (bytes, end of stream), AUTO_READ off
 * @param listener the listener's name for reports ({@code hbone/<pod>})
 * @param workload the destination pod, as the current snapshot knows it
 * @param peer the tunnel's TCP peer (the source pod's address)
 * @param peerIdentity the source's identity, from its verified certificate
 * @param workloadPrincipal the destination pod's SPIFFE ID (the certificate we presented)
 * @param target the application address from {@code :authority}: this pod's IP and an application port
 * @param answer how to answer the request
 */
public record InboundTunnel(
        Channel stream,
        String listener,
        Workload workload,
        InetSocketAddress peer,
        Identity peerIdentity,
        String workloadPrincipal,
        InetSocketAddress target,
        TunnelAnswer answer) {}
