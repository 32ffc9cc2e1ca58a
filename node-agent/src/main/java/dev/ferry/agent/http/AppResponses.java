package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;

/**
 * The app's side of an inbound HTTP connection: its answers go to the client through {@link InboundRequests}, read
 * only as fast as the client takes them. Interim 1xx answers are dropped, as on the source side. An answer nobody
 * asked for (the app speaking out of turn) closes the app's connection.
 */
final class AppResponses extends ChannelInboundHandlerAdapter {
    private final InboundRequests requests;
    /** An interim answer's empty end, still to come from the codec. */
    private boolean skipEnd;

    AppResponses(InboundRequests requests) {
        this.requests = requests;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpObject o) || o.decoderResult().isFailure() || !requests.answering()) {
            ReferenceCountUtil.release(msg); // not HTTP, or not asked for: this connection cannot be trusted on
            ctx.close();
            return;
        }
        boolean more;
        if (o instanceof HttpResponse r && r.status().code() < 200) {
            skipEnd = true; // the codec ends an interim answer with an empty last part
            more = true;
        } else if (o instanceof HttpResponse r) {
            more = requests.response(r);
        } else if (skipEnd) {
            skipEnd = false;
            ReferenceCountUtil.release(o);
            more = true;
        } else {
            more = requests.responseContent((HttpContent) o);
        }
        if (more) {
            ctx.read();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        requests.appReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            requests.appWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        requests.appClosed();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
