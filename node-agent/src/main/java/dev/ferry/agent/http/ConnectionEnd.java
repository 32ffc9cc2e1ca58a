package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.Session;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.util.ReferenceCountUtil;

/**
 * The last handler of an HTTP/2 client connection: its end is the session's (a close after GOAWAY or the client's
 * FIN is normal; a protocol error, such as a flood the codec refused, is the client's abort).
 */
final class ConnectionEnd extends ChannelInboundHandlerAdapter {
    private final Session session;

    ConnectionEnd(Session session) {
        this.session = session;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg); // connection-level frames the codec handled already (SETTINGS, PING acks)
    }

    /**
     * The client sends nothing more (its FIN): GOAWAY, and the connection ends once the streams in flight are
     * answered (the codec's graceful close), rather than lingering half-open.
     */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            ctx.close();
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.record().close(CloseReason.NORMAL, "");
        session.abort(CloseReason.NORMAL, "");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        String what = cause instanceof Http2Exception ? "HTTP/2 protocol error: " : "";
        session.abort(CloseReason.DOWNSTREAM_ABORT, what + cause.getMessage());
    }
}
