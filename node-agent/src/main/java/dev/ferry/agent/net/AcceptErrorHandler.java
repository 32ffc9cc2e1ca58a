package dev.ferry.agent.net;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sits in a listening channel's pipeline and counts accept errors (EMFILE/ENFILE when out of file descriptors).
 * It passes the error on: Netty's acceptor then pauses accepting for one second instead of spinning on a socket
 * that stays readable, which is the back-off we want.
 */
@ChannelHandler.Sharable
public final class AcceptErrorHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(AcceptErrorHandler.class);

    private final String listener;
    private final Consumer<String> counter;

    public AcceptErrorHandler(String listener, Consumer<String> counter) {
        this.listener = listener;
        this.counter = counter;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        counter.accept(listener);
        log.warn("listener {}: accept failed, pausing accepts for 1 s: {}", listener, cause.toString());
        ctx.fireExceptionCaught(cause);
    }
}
