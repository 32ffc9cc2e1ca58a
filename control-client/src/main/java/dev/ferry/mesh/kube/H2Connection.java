package dev.ferry.mesh.kube;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one HTTP/2 connection every request and watch of the client shares, as client-go shares one: a node's ten
 * watches are ten streams, not ten TCP and TLS connections the API server must hold per node. Negotiated by ALPN;
 * a server that picks HTTP/1.1 gets a connection per request instead ({@link KubeHttp}). A connection that reads
 * nothing for {@link #PING_AFTER} (by default) is pinged, and closed when the next period passes without an answer
 * (its streams then fail and their watches resume on a new connection), so a dead path is found in a minute, not at
 * the watch's own idle timeout. A connection the server sends GOAWAY on serves its open streams to their end and takes no new
 * ones: the next request opens a new connection. All on the client's loop.
 */
final class H2Connection {
    static final Duration PING_AFTER = Duration.ofSeconds(30);

    private static final long PING_PAYLOAD = 0xFE44;

    /** What the negotiation settled: the connection for streams, or null when the server speaks only HTTP/1.1. */
    final CompletableFuture<Channel> ready = new CompletableFuture<>();

    private final Duration pingAfter;

    /**
     * The server sent GOAWAY (its {@code --goaway-chance}, or a shutdown), or refused a new stream: the streams it
     * serves go on, but new requests go to a new connection. Set on the loop, read there.
     */
    boolean draining;

    H2Connection(Duration pingAfter) {
        this.pingAfter = pingAfter;
    }

    /** Whether a new request may go here: still connecting, or connected, open and not draining. */
    boolean usable() {
        if (draining) {
            return false;
        }
        if (!ready.isDone()) {
            return true;
        }
        Channel ch = ready.state() == java.util.concurrent.Future.State.SUCCESS ? ready.resultNow() : null;
        return ch != null && ch.isActive();
    }

    /** The pipeline's ALPN step: HTTP/2's frame codec and stream multiplexer, or the HTTP/1.1 verdict. */
    ChannelInboundHandlerAdapter negotiation() {
        return new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
            @Override
            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                    ctx.pipeline()
                            .addLast(new IdleStateHandler(pingAfter.toMillis(), 0, 0, TimeUnit.MILLISECONDS))
                            .addLast(Http2FrameCodecBuilder.forClient()
                                    .autoAckPingFrame(true)
                                    .build())
                            .addLast(new Ping())
                            .addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    ready.complete(ctx.channel());
                } else {
                    ready.complete(null);
                    ctx.close();
                }
            }

            @Override
            protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
                ready.completeExceptionally(KubeHttp.unreachable(cause));
                ctx.close();
            }
        };
    }

    /** Pings a connection gone quiet (closed when a whole period passes with no answer); notes a GOAWAY. */
    private final class Ping extends ChannelDuplexHandler {
        private boolean outstanding;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            outstanding = false; // anything read is a sign of life
            if (msg instanceof Http2PingFrame p && p.ack()) {
                return;
            }
            if (msg instanceof Http2GoAwayFrame) {
                draining = true;
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                if (outstanding) {
                    ctx.close(); // no answer for a whole period: the path is dead
                } else {
                    outstanding = true;
                    ctx.writeAndFlush(new DefaultHttp2PingFrame(PING_PAYLOAD));
                }
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }
    }
}
