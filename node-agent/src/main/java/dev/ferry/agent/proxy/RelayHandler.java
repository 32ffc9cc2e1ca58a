package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Copies bytes from its channel to the peer, one instance per side. Back-pressure: reads are requested only while
 * the peer is writable (AUTO_READ is off); when the peer's buffer drains, the peer's handler asks this side to
 * read again. Buffer ownership: every ByteBuf read here is handed to the peer's write, which releases it.
 */
final class RelayHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(RelayHandler.class);

    private final RelaySession session;

    RelayHandler(RelaySession session) {
        this.session = session;
    }

    /** Netty asks at every pipeline change; its answer is a per-thread map lookup, measurable per connection. */
    @Override
    public boolean isSharable() {
        return false;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        Channel peer = session.peerOf(ctx.channel());
        if (!(msg instanceof ByteBuf buf) || peer == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        session.bytes(ctx.channel(), buf.readableBytes());
        peer.write(buf, peer.voidPromise()); // ownership passes to the peer's outbound buffer
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Channel peer = session.peerOf(ctx.channel());
        if (peer == null) {
            return;
        }
        peer.flush();
        if (peer.isWritable()) {
            ctx.read();
        } // else: the peer's channelWritabilityChanged resumes us once its queue drains below the low mark
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Channel peer = session.peerOf(ctx.channel());
        if (ctx.channel().isWritable() && peer != null && peer.isActive()) {
            peer.read();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            session.eof(ctx.channel());
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.inactive(ctx.channel());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        boolean downstream = ctx.channel() == session.downstream();
        if (cause instanceof IOException) {
            log.debug("connection {} {} I/O error: {}", session.record().id(), side(downstream), cause.toString());
        } else {
            log.warn("connection {} {} unexpected error", session.record().id(), side(downstream), cause);
        }
        session.abort(
                downstream ? CloseReason.DOWNSTREAM_ABORT : CloseReason.UPSTREAM_ABORT,
                cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }

    private static String side(boolean downstream) {
        return downstream ? "downstream" : "upstream";
    }
}
