package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.codec.http2.Http2ChannelDuplexHandler;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2FrameStreamEvent;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.collection.IntObjectMap;
import java.util.ArrayList;
import java.util.List;

/**
 * The streams of one HTTP/2 connection, right behind its frame codec, with no channel or pipeline per stream: each
 * stream's frames go to its object, which is told when the connection's read is over (so it can give back the peer's
 * window and hand on what it took), when it may write again, and when it is gone. A client's connection
 * ({@link H2Requests}) and a shared upstream one ({@link H2Upstreams}) differ in where streams come from. On the
 * connection's event loop only.
 */
abstract class H2Streams<S extends H2Streams.Stream> extends Http2ChannelDuplexHandler {
    /** What the connection tells one of its streams. */
    interface Stream {
        Http2FrameStream frameStream();

        /** A frame of this stream (HEADERS, DATA, RST_STREAM, or one to ignore); ownership passes. */
        void frame(Http2StreamFrame f);

        /** Marks the stream as given something during the connection's read; true the first time. */
        boolean touch();

        /** The connection's read is over. */
        void readComplete();

        /** The stream (or the connection) can take more. */
        void writable();

        /** The stream is gone: closed or reset ({@code why} null), or its connection closed. */
        void closed(String why);
    }

    private final IntObjectMap<S> streams = new IntObjectHashMap<>();
    /** Streams given frames during this read: told when it is over. */
    private final List<S> touched = new ArrayList<>();

    private ChannelHandlerContext ctx;
    private Http2FrameCodec codec;
    private ChannelPromise quiet;
    /** A flush is queued for the end of this loop turn ({@link #flushSoon}). */
    private boolean flushQueued;

    private final Runnable flushNow = () -> {
        flushQueued = false;
        ctx.flush();
    };

    @Override
    protected void handlerAdded0(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.codec = ctx.pipeline().get(Http2FrameCodec.class);
        this.quiet = new VoidChannelPromise(ctx.channel(), false);
    }

    /** The stream a frame of an unknown stream id starts, or null when it starts none (the frame is released). */
    protected abstract S started(Http2StreamFrame f);

    ChannelHandlerContext ctx() {
        return ctx;
    }

    Http2FrameCodec codec() {
        return codec;
    }

    /**
     * A promise for stream frames: a write that fails because the stream closed meanwhile is the stream's end, not
     * the connection's error (a void promise would fire it down the pipeline, which ends the connection).
     */
    ChannelPromise quiet() {
        return quiet;
    }

    /**
     * Flushes the connection once this loop turn's reads are handled, however many of its streams asked: a read of
     * another connection can end a hundred streams' requests or answers on this one, and each flush walks the
     * codec's flow controller and the channel's outbound buffer. Nothing waits for it: the loop's tasks run in the
     * same turn, and io_uring submits what they write when the turn ends, as it would have the writes flushed here.
     */
    void flushSoon() {
        if (!flushQueued) {
            flushQueued = true;
            ctx.executor().execute(flushNow);
        }
    }

    /** The stream has its id: its frames come to it from now on. */
    void register(S s) {
        streams.put(s.frameStream().id(), s);
    }

    /** The stream is over; true the first time (a stream is forgotten when its call ends and when it closes). */
    boolean forget(S s) {
        int id = s.frameStream().id();
        if (streams.get(id) != s) { // the int keyed calls: Map's remove(key, value) would box the id
            return false;
        }
        streams.remove(id);
        return true;
    }

    /** Whether the connection and the stream's send window take more. */
    boolean streamWritable(Http2FrameStream s) {
        Http2Stream st = s.id() > 0 ? codec.connection().stream(s.id()) : null;
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
        S s = streams.get(f.stream().id());
        if (s == null && (s = started(f)) == null) {
            ReferenceCountUtil.release(msg); // a stream already over (its last frames, a late reset)
            return;
        }
        if (s.touch()) {
            touched.add(s);
        }
        s.frame(f);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        for (int i = 0; i < touched.size(); i++) {
            touched.get(i).readComplete();
        }
        touched.clear();
        ctx.flush(); // window updates and answers written during the read
        ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (!(evt instanceof Http2FrameStreamEvent e)) {
            ctx.fireUserEventTriggered(evt);
            return;
        }
        S s = streams.get(e.stream().id());
        if (s == null) {
            return;
        }
        if (e.type() == Http2FrameStreamEvent.Type.Writability && streamWritable(e.stream())) {
            s.writable();
        } else if (e.type() == Http2FrameStreamEvent.Type.State && e.stream().state() == Http2Stream.State.CLOSED) {
            s.closed(null);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            for (S s : List.copyOf(streams.values())) {
                if (streamWritable(s.frameStream())) {
                    s.writable();
                }
            }
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        for (S s : List.copyOf(streams.values())) {
            s.closed("connection closed");
        }
        ctx.fireChannelInactive();
    }
}
