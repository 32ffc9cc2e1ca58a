package dev.ferry.mesh.kube;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One streamed answer, a watch: the API server sends one JSON event per line for as long as the watch lasts. Lines
 * are cut by Netty's {@link LineBasedFrameDecoder} (bounded: a longer line fails the stream), each handed to the
 * listener and released after it returns. Exactly one of {@link Listener#ended()} and {@link Listener#failed} ends a
 * stream, unless it was {@link #close() closed} by its owner. Everything runs on the client's loop.
 */
public final class WatchStream {
    /** How much of a refusal's body is kept to name it. */
    private static final int MAX_ERROR_BYTES = 64 * 1024;

    /** What a watch's owner hears, on the client's loop. */
    public interface Listener {
        /** The server accepted the watch (status 200): events follow. */
        void opened();

        /** One line of the stream (one event), valid only during the call. */
        void line(ByteBuf line);

        /** The server ended the stream on its own (the watch's timeout). */
        void ended();

        /** The stream was refused or broke. */
        void failed(KubeApiException e);
    }

    private final io.netty.channel.EventLoop loop;
    private final Listener listener;
    private final Duration idle;
    private final int maxLineBytes;
    private Channel channel;
    private boolean done;

    WatchStream(io.netty.channel.EventLoop loop, Listener listener, Duration idle, int maxLineBytes) {
        this.loop = loop;
        this.listener = listener;
        this.idle = idle;
        this.maxLineBytes = maxLineBytes;
    }

    /** The channel the answer arrives on (a stream, or an HTTP/1.1 connection); on the loop. */
    void bind(Channel ch) {
        channel = ch;
        if (done) {
            ch.close(); // closed by its owner before it was open
        }
    }

    /** Ends the watch from its owner's side: the listener hears nothing more. Any thread. */
    public void close() {
        if (!loop.inEventLoop()) {
            loop.execute(this::close);
            return;
        }
        done = true;
        if (channel != null) {
            channel.close();
        }
    }

    ChannelHandler handler() {
        return new Start();
    }

    void failed(Throwable t) {
        finish(t instanceof KubeApiException k ? k : KubeHttp.unreachable(t));
    }

    private void finish(KubeApiException e) {
        if (!done) {
            done = true;
            if (e == null) {
                listener.ended();
            } else {
                listener.failed(e);
            }
        }
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    /** The answer's status and body: a 200's body goes on to the line decoder, a refusal's is kept to name it. */
    private final class Start extends ChannelInboundHandlerAdapter {
        private int status;
        private ByteBuf refusal;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            ctx.pipeline()
                    .addBefore(ctx.name(), null, new IdleStateHandler(idle.toMillis(), 0, 0, TimeUnit.MILLISECONDS));
            ctx.pipeline().addAfter(ctx.name(), null, new Lines());
            ctx.pipeline().addAfter(ctx.name(), null, new LineBasedFrameDecoder(maxLineBytes, true, true));
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            if (refusal != null) {
                refusal.release();
                refusal = null;
            }
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpResponse r) {
                status = r.status().code();
                if (status == 200) {
                    if (!done) {
                        listener.opened();
                    }
                } else {
                    refusal = Unpooled.buffer(256);
                }
            }
            if (msg instanceof HttpContent c) {
                boolean last = c instanceof LastHttpContent;
                if (refusal != null) {
                    refusal.writeBytes(
                            c.content(),
                            Math.min(c.content().readableBytes(), MAX_ERROR_BYTES - refusal.readableBytes()));
                    c.release();
                    if (last) {
                        finish(new KubeApiException(
                                status, KubeResponse.message(status, ByteBufUtil.getBytes(refusal))));
                    }
                    return;
                }
                ctx.fireChannelRead(c.content()); // ownership passes to the line decoder
                if (last) {
                    finish(null);
                }
            } else if (!(msg instanceof HttpResponse)) {
                io.netty.util.ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                finish(new KubeApiException(0, "the watch sent nothing for " + idle.toSeconds() + " s"));
            } else {
                ctx.fireUserEventTriggered(evt);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish(new KubeApiException(0, "the API server closed the watch's connection"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            broke(cause); // TLS, HTTP framing, the socket
        }
    }

    private void broke(Throwable cause) {
        finish(
                cause instanceof TooLongFrameException
                        ? new KubeApiException(
                                KubeApiException.BAD_ANSWER, "a watch event longer than " + maxLineBytes + " bytes")
                        : KubeHttp.unreachable(cause));
    }

    /** One line, to the listener; released here once it returns. */
    private final class Lines extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf line = (ByteBuf) msg;
            try {
                if (!done && line.isReadable()) {
                    listener.line(line);
                }
            } finally {
                line.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            broke(cause); // the line decoder's limit
        }
    }
}
