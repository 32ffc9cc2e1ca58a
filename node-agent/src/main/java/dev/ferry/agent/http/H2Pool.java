package dev.ferry.agent.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * HTTP/2 upstream connections, one per event loop and key (endpoint, connector, source pod), each carrying every
 * request of that loop to that endpoint as a stream: a request costs a stream, not a connection (nor, through
 * HBONE, a CONNECT). Requests that come while the connection is being opened wait for it. A connection that was
 * told GOAWAY, or closed, is replaced by the next request; one without streams for 90 s is closed. Each loop's part
 * is touched by that loop only.
 */
final class H2Pool {
    private static final long IDLE_SECONDS = 90;

    private final Map<EventLoop, Map<UpstreamPool.Key, Future<Channel>>> loops = new ConcurrentHashMap<>();

    /**
     * A new stream to {@code key}'s endpoint, with {@code streamInit} in its pipeline and AUTO_READ off.
     *
     * @param connect opens a connection with the given pipeline through the key's connector
     */
    Future<Channel> stream(
            EventLoop loop,
            UpstreamPool.Key key,
            Function<ChannelInitializer<Channel>, Future<Channel>> connect,
            ChannelHandler streamInit) {
        Map<UpstreamPool.Key, Future<Channel>> m = loops.computeIfAbsent(loop, l -> new HashMap<>());
        Future<Channel> parent = m.get(key);
        if (parent == null || (parent.isDone() && !usable(parent))) {
            Future<Channel> opening = connect.apply(new ChannelInitializer<>() {
                @Override
                protected void initChannel(Channel ch) {
                    // the connector's sockets read on request (the L4 relay's back-pressure); a shared connection
                    // reads always: its streams' flow control windows bound what it takes in
                    ch.config().setAutoRead(true);
                    ch.pipeline().addLast("h2", H2.client());
                    ch.pipeline().addLast("streams", new Http2MultiplexHandler(new RefusePushes()));
                    ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS));
                    ch.pipeline().addLast("idle-close", new CloseWhenIdle());
                }
            });
            m.put(key, opening);
            opening.addListener(f -> {
                if (!f.isSuccess()) {
                    m.remove(key, opening);
                } else {
                    ((Channel) f.getNow()).closeFuture().addListener(c -> m.remove(key, opening));
                }
            });
            parent = opening;
        }
        Promise<Channel> out = loop.newPromise();
        parent.addListener(f -> {
            if (!f.isSuccess()) {
                out.tryFailure(f.cause());
                return;
            }
            new Http2StreamChannelBootstrap((Channel) f.getNow())
                    .option(ChannelOption.AUTO_READ, false)
                    .handler(streamInit)
                    .open()
                    .addListener(s -> {
                        if (s.isSuccess()) {
                            if (!out.trySuccess((Channel) s.getNow())) {
                                ((Channel) s.getNow()).close(); // the attempt gave up meanwhile
                            }
                        } else {
                            out.tryFailure(s.cause());
                        }
                    });
        });
        return out;
    }

    private static boolean usable(Future<Channel> parent) {
        if (!parent.isSuccess() || !parent.getNow().isActive()) {
            return false;
        }
        Http2FrameCodec codec = parent.getNow().pipeline().get(Http2FrameCodec.class);
        return codec != null && !codec.connection().goAwayReceived();
    }

    /** Pushes are disabled in our SETTINGS; a stream the server opens anyway is closed. */
    private static final class RefusePushes extends ChannelInboundHandlerAdapter {
        @Override
        public boolean isSharable() {
            return true;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            ctx.close();
        }
    }

    private static final class CloseWhenIdle extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                Http2FrameCodec codec = ctx.pipeline().get(Http2FrameCodec.class);
                if (codec == null || codec.connection().numActiveStreams() == 0) {
                    ctx.close();
                }
            }
            ReferenceCountUtil.release(evt);
        }
    }
}
