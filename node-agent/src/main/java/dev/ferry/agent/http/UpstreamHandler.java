package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;

/**
 * The last handler of a pooled upstream connection: passes responses to the exchange that holds the connection;
 * an idle connection that says something, or stays idle past the pool's timeout, is closed.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {
    private UpstreamEvents exchange;

    void attach(UpstreamEvents e) {
        exchange = e;
    }

    void detach() {
        exchange = null;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamEvents e = exchange;
        if (e == null || !(msg instanceof HttpObject o)) {
            ReferenceCountUtil.release(msg);
            ctx.close(); // a response nobody asked for: the connection is out of step
            return;
        }
        e.upstreamRead(o);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamEvents e = exchange;
        if (e != null) {
            e.upstreamReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamEvents e = exchange;
        if (e != null && ctx.channel().isWritable()) {
            e.upstreamWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent && exchange == null) {
            ctx.close();
        } else if (evt instanceof ChannelInputShutdownEvent) {
            // the connector's sockets allow half-closure (the L4 relay needs it); for HTTP/1.1 an upstream's end of
            // input ends the connection: the codec has already completed a response delimited by it
            ctx.close();
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        UpstreamEvents e = exchange;
        if (e != null) {
            e.upstreamClosed(null);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        UpstreamEvents e = exchange;
        if (e != null) {
            e.upstreamClosed(cause);
        }
        ctx.close();
    }
}
