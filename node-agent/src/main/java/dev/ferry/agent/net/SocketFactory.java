package dev.ferry.agent.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;

/**
 * Creates the agent's sockets. The seam for per-pod network namespaces: the host implementation creates sockets in
 * the agent's own namespace; a pod's implementation (in-pod capture) creates them inside the pod's namespace with
 * {@code SO_MARK}, so the pod keeps its source IP. Callers never build bootstraps themselves.
 */
public interface SocketFactory {
    /**
     * Binds a listening socket; accepted channels start with auto-read off and half-closure allowed.
     *
     * @param serverHandler sits in the listening channel's pipeline (sees accept errors)
     * @param childHandler added to each accepted channel: a sharable handler or an initializer
     */
    ChannelFuture listen(
            EventLoopGroup group, InetSocketAddress address, ChannelHandler serverHandler, ChannelHandler childHandler);

    /** Connects an upstream socket on {@code loop} (the downstream's loop: no cross-thread hand-off per byte). */
    ChannelFuture connect(EventLoop loop, InetSocketAddress remote, ChannelHandler handler);

    /**
     * Connects with {@code source} as the socket's address although it is not local (IP_TRANSPARENT), so inbound
     * delivery keeps the original client's IP. Factories that cannot (the host's) connect normally.
     */
    default ChannelFuture connectAs(
            EventLoop loop, InetSocketAddress remote, InetSocketAddress source, ChannelHandler handler) {
        return connect(loop, remote, handler);
    }

    /**
     * The same factory for relayed connections' upstream sockets: their TCP keepalive is left to {@link #keepalive},
     * which the relay calls at the connection's first idle check. Most relayed connections end long before it, and
     * the two setsockopt calls per connect were ~1.5 % of the event loop's time under connection churn; the
     * downstream side has keepalive from the start (the listener's, which accepted sockets inherit). A connector that
     * dials a pooled, long-lived connection with a request's factory turns keepalive on for it itself (HboneClient):
     * only the relay's own upstream waits for the idle check.
     */
    default SocketFactory forRelay() {
        return this;
    }

    /** Turns TCP keepalive on for an upstream socket of {@link #forRelay}, when this factory is configured for it. */
    default void keepalive(Channel upstream) {}
}
