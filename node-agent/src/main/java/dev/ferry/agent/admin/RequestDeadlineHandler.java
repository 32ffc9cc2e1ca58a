package dev.ferry.agent.admin;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Closes a control connection whose request does not arrive whole in time: armed when the connection opens and
 * again when an answer has been written (keep-alive), disarmed when a request has been read in full. A client
 * sending one byte a second, or nothing, or a TLS handshake nobody will answer, is gone after the deadline. It also
 * drives reading (AUTO_READ off): more bytes only while a request is incomplete, none while one is being answered.
 */
final class RequestDeadlineHandler extends ChannelInboundHandlerAdapter {
    private final Duration timeout;
    private ScheduledFuture<?> deadline;

    RequestDeadlineHandler(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        arm(ctx);
        ctx.read(); // AUTO_READ is inherited off from the listener: read on demand, one request at a time
        super.channelActive(ctx);
    }

    /** Called by the control handler once it has a whole request: the rest is ours to answer, not theirs to send. */
    static void requestComplete(ChannelHandlerContext anyCtx) {
        RequestDeadlineHandler h = anyCtx.pipeline().get(RequestDeadlineHandler.class);
        if (h != null) {
            h.disarm();
        }
    }

    /** Called once an answer has been written and the connection stays open: the next request's clock starts. */
    static void answered(ChannelHandlerContext anyCtx) {
        RequestDeadlineHandler h = anyCtx.pipeline().get(RequestDeadlineHandler.class);
        ChannelHandlerContext own = anyCtx.pipeline().context(RequestDeadlineHandler.class);
        if (h != null && own != null && own.channel().isActive()) {
            h.arm(own);
            own.read();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (deadline != null) {
            ctx.read(); // a request still incomplete: keep reading until it is whole or the deadline ends it
        }
        super.channelReadComplete(ctx);
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        deadline = ctx.executor().schedule((Runnable) ctx::close, timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void disarm() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        disarm();
        super.channelInactive(ctx);
    }
}
