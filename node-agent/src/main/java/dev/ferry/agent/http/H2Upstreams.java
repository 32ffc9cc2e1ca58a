package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A shared HTTP/2 upstream connection, right behind the frame codec: the requests of its pool's attempts as
 * {@link H2Upstream} streams, each response's frames given to its stream. No channel or pipeline per stream. On the
 * connection's event loop only.
 */
final class H2Upstreams extends Http2ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(H2Upstreams.class);

    private final IntObjectMap<H2Upstream> streams = new IntObjectHashMap<>();
    /** Streams given response parts during this read: told when it is over. */
    private final List<H2Upstream> touched = new ArrayList<>();

    private ChannelHandlerContext ctx;
    private Http2FrameCodec codec;
    private ChannelPromise quiet;

    @Override
    protected void handlerAdded0(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.codec = ctx.pipeline().get(Http2FrameCodec.class);
        this.quiet = new VoidChannelPromise(ctx.channel(), false);
    }

    /** A new stream for one request; nothing is sent until its head is written. */
    H2Upstream open(Runnable over) {
        return new H2Upstream(this, newStream(), over);
    }

    ChannelHandlerContext ctx() {
        return ctx;
    }

    /** A promise for stream frames whose failure (the stream closed meanwhile) is the stream's, not the connection's. */
    ChannelPromise quiet() {
        return quiet;
    }

    /** The stream's head went out and it has its id: its frames come here from now on. */
    void register(H2Upstream s) {
        streams.put(s.frameStream().id(), s);
    }

    void forget(H2Upstream s) {
        streams.remove(s.frameStream().id(), s);
    }

    boolean streamWritable(Http2FrameStream s) {
        Http2Stream st = s.id() > 0 ? codec.connection().stream(s.id()) : null;
        return ctx.channel().isWritable()
                && st != null
                && codec.connection().remote().flowController().isWritable(st);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        H2Upstream s = msg instanceof Http2StreamFrame f && f.stream() != null
                ? streams.get(f.stream().id())
                : null;
        if (s == null) {
            ReferenceCountUtil.release(msg); // connection-level frames the codec handled, or a stream already over
            return;
        }
        if (s.touch()) {
            touched.add(s);
        }
        switch (msg) {
            case Http2HeadersFrame h -> s.responseHeaders(h);
            case Http2DataFrame d -> s.responseData(d);
            case Http2ResetFrame r -> s.resetByServer(r.errorCode());
            default -> ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        for (int i = 0; i < touched.size(); i++) {
            touched.get(i).readComplete();
        }
        touched.clear();
        ctx.flush(); // window updates
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2FrameStreamEvent e) {
            H2Upstream s = streams.get(e.stream().id());
            if (s != null && e.type() == Http2FrameStreamEvent.Type.Writability && streamWritable(e.stream())) {
                s.writable();
            } else if (s != null
                    && e.type() == Http2FrameStreamEvent.Type.State
                    && e.stream().state() == Http2Stream.State.CLOSED) {
                s.closed(null);
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (H2Upstream s : List.copyOf(streams.values())) {
                if (streamWritable(s.frameStream())) {
                    s.writable();
                }
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (H2Upstream s : List.copyOf(streams.values())) {
            s.closed("upstream connection closed");
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HTTP/2 upstream connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close(); // its streams learn it as the connection closes
    }
}
