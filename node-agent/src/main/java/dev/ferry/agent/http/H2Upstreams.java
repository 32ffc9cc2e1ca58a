package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2StreamFrame;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A shared HTTP/2 upstream connection: the requests of its pool's attempts as {@link H2Upstream} streams, opened
 * here, each response's frames given to its stream. A frame of a stream it did not open starts nothing (pushes are
 * off in its SETTINGS).
 */
final class H2Upstreams extends H2Streams<H2Upstream> {
    private static final Logger log = LoggerFactory.getLogger(H2Upstreams.class);

    /** A new stream for one request; nothing is sent until its head is written. */
    H2Upstream open(Runnable over) {
        return new H2Upstream(this, newStream(), over);
    }

    @Override
    protected H2Upstream started(Http2StreamFrame f) {
        return null;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HTTP/2 upstream connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close(); // its streams learn it as the connection closes
    }
}
