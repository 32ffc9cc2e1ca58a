package dev.ferry.agent.http;

import dev.ferry.agent.connection.Session;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * In front of a codec: counts the bytes read from one side as they came on the wire (the connection's byte
 * metrics, and what keeps its idle timer from firing while requests flow).
 */
final class ByteCount extends ChannelInboundHandlerAdapter {
    private final Session session;
    private final boolean downstream;

    ByteCount(Session session, boolean downstream) {
        this.session = session;
        this.downstream = downstream;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf b) {
            if (downstream) {
                session.received(b.readableBytes());
            } else {
                session.sent(b.readableBytes());
            }
        }
        ctx.fireChannelRead(msg);
    }
}
