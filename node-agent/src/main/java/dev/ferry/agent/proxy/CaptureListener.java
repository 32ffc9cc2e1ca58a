package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.net.AcceptErrorHandler;
import dev.ferry.mesh.Workload;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;

/**
 * A capture listener (outbound 15001 or inbound 15006). It belongs to at most one workload: connections it accepts
 * are attributed to that workload, because the listener lives in that pod's network namespace. The node-level set
 * has no owner unless configured.
 */
public final class CaptureListener {
    private final RelayContext ctx;
    private final Direction direction;
    private final String name;
    private final Workload owner;
    private final AcceptHandler accept;
    private Channel channel;

    public CaptureListener(RelayContext ctx, Direction direction, String name, Workload owner) {
        this.ctx = ctx;
        this.direction = direction;
        this.name = name;
        this.owner = owner;
        this.accept = new AcceptHandler(ctx, direction, name, owner, new InboundPath(ctx));
    }

    /** Binds; accepted connections start relaying immediately (call after every other listener is bound). */
    public ChannelFuture bind(EventLoopGroup group, InetSocketAddress address) {
        ChannelFuture f = ctx.sockets()
                .listen(
                        group,
                        address,
                        new AcceptErrorHandler(name, ctx.metrics()::acceptError),
                        // One shared handler, not an initializer: an initializer per accepted connection is a
                        // pipeline add and remove and a concurrent set of its own, seen under connection churn.
                        accept);
        channel = f.channel();
        return f;
    }

    /** Starts accepting (the listener was bound with accepting off). */
    public void serve() {
        channel.config().setAutoRead(true);
    }

    /** Bound, open and accepting. */
    public boolean isServing() {
        return channel != null && channel.isActive() && channel.config().isAutoRead();
    }

    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    public String name() {
        return name;
    }

    /** Stops accepting; open connections are not touched (drain handles them). Null if never bound. */
    public ChannelFuture close() {
        return channel == null ? null : channel.close();
    }
}
