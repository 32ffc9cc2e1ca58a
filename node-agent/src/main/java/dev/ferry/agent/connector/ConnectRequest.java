package dev.ferry.agent.connector;

import dev.ferry.agent.net.SocketFactory;
import dev.ferry.mesh.Workload;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * One stream to open.
 *
 * @param sockets where the socket is created (a pod's factory: in its namespace, marked so it is not re-captured)
 * @param loop the event loop the stream must live on (the downstream's, so a connection has one thread)
 * @param target the application address: an endpoint, a pod, or an original destination
 * @param localAddress the source address to connect from (inbound delivery keeps the client's IP), or null for any
 * @param source the workload the stream is opened for, or null (inbound delivery, uncaptured sources)
 * @param sourceIp the source pod's own address, as the redirected connection came from it
 * @param destination the mesh pod at {@code target}, or null when it is not one
 * @param handler the last handler of the stream's pipeline
 */
public record ConnectRequest(
        SocketFactory sockets,
        EventLoop loop,
        InetSocketAddress target,
        InetSocketAddress localAddress,
        Workload source,
        InetAddress sourceIp,
        Workload destination,
        ChannelHandler handler) {}
