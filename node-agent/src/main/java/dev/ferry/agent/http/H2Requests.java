package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
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

/**
 * A client's HTTP/2 connection, right behind the frame codec: each stream's frames go to its {@link H2Stream}, one
 * request each, written back as frames on this connection. No channel, pipeline or HTTP/1.1 codec per stream (the
 * multiplexing handler's child channels cost more than the request they carried). The codec keeps the connection's
 * limits (concurrent streams, header size, floods); the streams' flow control is returned as their data is taken.
 */
final class H2Requests extends ChannelInboundHandlerAdapter {
    private final HttpOutbound http;
    private final HttpConnection conn;
    private final HttpRouter router;
    /** The connection's last request series, shared by its streams (they mostly differ in nothing it keys on). */
    final SeriesCache series = new SeriesCache();

    private final IntObjectMap<H2Stream> streams = new IntObjectHashMap<>();
    /** Streams given request parts during this read: told when it is over. */
    private final List<H2Stream> touched = new ArrayList<>();

    private ChannelHandlerContext ctx;
    private Http2FrameCodec codec;
    private ChannelPromise quiet;

    H2Requests(HttpOutbound http, HttpConnection conn, HttpRouter router) {
        this.http = http;
        this.conn = conn;
        this.router = router;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.codec = ctx.pipeline().get(Http2FrameCodec.class);
        this.quiet = new VoidChannelPromise(ctx.channel(), false);
    }

    ChannelHandlerContext ctx() {
        return ctx;
    }

    /** A promise for stream frames whose failure (the stream closed meanwhile) is nobody's error. */
    ChannelPromise quiet() {
        return quiet;
    }

    HttpOutbound http() {
        return http;
    }

    HttpRouter router() {
        return router;
    }

    HttpConnection connection() {
        return conn;
    }

    /** The codec's own state of a stream, for its send window; null once it is closed. */
    Http2Stream state(Http2FrameStream s) {
        return codec.connection().stream(s.id());
    }

    boolean streamWritable(Http2FrameStream s) {
        Http2Stream st = state(s);
        return ctx.channel().isWritable()
                && st != null
                && codec.connection().remote().flowController().isWritable(st);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Http2StreamFrame f) || f.stream() == null) {
            ReferenceCountUtil.release(msg); // connection-level frames the codec has handled (SETTINGS, PING, GOAWAY)
            return;
        }
        int id = f.stream().id();
        H2Stream s = streams.get(id);
        if (s == null && msg instanceof Http2HeadersFrame h) {
            s = new H2Stream(this, h.stream());
            streams.put(id, s);
            s.touch();
            touched.add(s);
            s.requestHead(h);
            return;
        }
        if (s == null) {
            ReferenceCountUtil.release(msg); // a stream already over (its last frames, a late reset)
            return;
        }
        if (s.touch()) {
            touched.add(s);
        }
        switch (msg) {
            case Http2HeadersFrame h -> s.requestTrailers(h);
            case Http2DataFrame d -> s.requestData(d);
            case Http2ResetFrame r -> s.resetByClient();
            default -> ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        for (int i = 0; i < touched.size(); i++) {
            touched.get(i).readComplete();
        }
        touched.clear();
        ctx.flush(); // window updates and answers written during the read
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof Http2FrameStreamEvent e) {
            H2Stream s = streams.get(e.stream().id());
            if (s != null && e.type() == Http2FrameStreamEvent.Type.Writability && streamWritable(e.stream())) {
                s.writable();
            } else if (s != null
                    && e.type() == Http2FrameStreamEvent.Type.State
                    && e.stream().state() == Http2Stream.State.CLOSED) {
                s.closed();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (H2Stream s : List.copyOf(streams.values())) {
                if (streamWritable(s.frameStream())) {
                    s.writable();
                }
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (H2Stream s : List.copyOf(streams.values())) {
            s.closed();
        }
        ctx.fireChannelInactive();
    }

    /** A stream is over both ways (or reset): it is forgotten. */
    void forget(H2Stream s) {
        streams.remove(s.frameStream().id(), s);
    }
}
