package dev.ferry.agent.hbone;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.timeout.IdleStateEvent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP/2 PING keepalive for a pooled HBONE connection: after a quiet spell (an {@code IdleStateHandler} before this
 * handler says when) send a PING; no ACK within {@code timeout} means the peer or the path is gone, so the connection
 * is closed rather than kept in the pool to swallow the next streams. Sits after the HTTP/2 codec and the multiplex
 * handler, which pass connection-level frames on.
 */
final class Keepalive extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(Keepalive.class);

    private final Duration timeout;
    private long outstanding = -1;
    private ScheduledFuture<?> deadline;

    Keepalive(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (!(evt instanceof IdleStateEvent)) {
            super.userEventTriggered(ctx, evt);
            return;
        }
        if (outstanding != -1) {
            return; // one PING at a time
        }
        outstanding = ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE;
        ctx.writeAndFlush(new DefaultHttp2PingFrame(outstanding));
        deadline = ctx.executor()
                .schedule(
                        () -> {
                            log.info(
                                    "HBONE connection {}: no PING ACK within {} ms, closing",
                                    ctx.channel(),
                                    timeout.toMillis());
                            ctx.close();
                        },
                        timeout.toNanos(),
                        TimeUnit.NANOSECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2PingFrame ping && ping.ack() && ping.content() == outstanding) {
            outstanding = -1;
            deadline.cancel(false);
            return;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (deadline != null) {
            deadline.cancel(false);
        }
        ctx.fireChannelInactive();
    }
}
