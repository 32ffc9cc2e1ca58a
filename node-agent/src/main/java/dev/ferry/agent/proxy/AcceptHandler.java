package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.net.OriginalDestination.OriginalDestinationException;
import dev.ferry.agent.routing.Destination;
import dev.ferry.mesh.Workload;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.net.InetSocketAddress;

/**
 * First handler of a captured connection: opens its record and session, puts {@link EarlyBytes} in its own place
 * (AUTO_READ is off: nothing is read before the upstream is open), recovers the original destination and hands the
 * connection to the outbound or the inbound path. One per listener, shared by its connections: it holds only the
 * listener's own facts.
 */
@ChannelHandler.Sharable
final class AcceptHandler extends ChannelInboundHandlerAdapter {
    private final RelayContext ctx;
    private final Direction direction;
    private final String listener;
    private final Workload owner;
    private final InboundPath inbound;

    AcceptHandler(RelayContext ctx, Direction direction, String listener, Workload owner, InboundPath inbound) {
        this.ctx = ctx;
        this.direction = direction;
        this.listener = listener;
        this.owner = owner;
        this.inbound = inbound;
    }

    /** Netty asks at every pipeline change; its answer is a per-thread map lookup, measurable per connection. */
    @Override
    public boolean isSharable() {
        return true;
    }

    @Override
    public void channelActive(ChannelHandlerContext chc) {
        Channel down = chc.channel();
        ConnectionRecord record = new ConnectionRecord(
                ctx.ids().incrementAndGet(),
                direction,
                listener,
                (InetSocketAddress) down.remoteAddress(),
                // An outbound listener's owner is the source; an inbound one's owner is the destination, and the
                // source is only known from its certificate (mTLS) or not at all (plaintext).
                direction == Direction.OUTBOUND ? owner : null,
                ctx.ticker().wallClock().instant(),
                ctx.ticker().nanoTime());
        RelaySession session = new RelaySession(ctx, record, down);
        down.pipeline().replace(this, "early", new EarlyBytes(session));
        if (direction == Direction.OUTBOUND) {
            OutboundPath.start(ctx, session, owner);
            return;
        }
        InetSocketAddress original = originalDestination(session);
        if (original == null) {
            return;
        }
        switch (ctx.resolver().inbound(ctx.snapshot().get(), original)) {
            case Destination.ToWorkload w -> inbound.plaintext(session, w.workload(), original);
            case Destination.Refused r -> {
                record.delivery(r.delivery(ctx.clusterDomain()));
                session.open(ConnectionLabels.of(record));
                session.abort(r.reason(), r.detail());
            }
            default -> throw new IllegalStateException("inbound resolves to a workload or a refusal");
        }
    }

    /** The address the client asked for (SO_ORIGINAL_DST), or null when the connection was ended for want of it. */
    static InetSocketAddress originalDestination(RelaySession session) {
        Channel down = session.downstream();
        ConnectionRecord record = session.record();
        try {
            InetSocketAddress original = session.context().originalDestination().of(down);
            record.originalDestination(original);
            return original;
        } catch (OriginalDestinationException e) {
            session.open(ConnectionLabels.base(record));
            session.abort(
                    e.peerGone() || !down.isActive() ? CloseReason.DOWNSTREAM_ABORT : CloseReason.NO_ROUTE,
                    e.getMessage());
            return null;
        }
    }
}
