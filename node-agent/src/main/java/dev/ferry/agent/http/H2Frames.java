package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;

/**
 * Between the exchange's HTTP/1.1 objects and one HTTP/2 stream's frames, the same at both ends (a client's stream,
 * an upstream's): bodies become DATA and trailers (heads: {@link H2Heads}).
 */
final class H2Frames {
    private H2Frames() {}

    /** A last part with no body and no trailers: the head before it goes out with END_STREAM, and it not at all. */
    static boolean emptyEnd(HttpObject o) {
        return o instanceof LastHttpContent last
                && !last.content().isReadable()
                && last.trailingHeaders().isEmpty();
    }

    /**
     * Writes a body part on {@code stream}: DATA, and for a last part with trailers a closing HEADERS; ownership
     * passes. True when it ended the stream.
     */
    static boolean writeBody(ChannelHandlerContext ctx, Http2FrameStream stream, ChannelPromise p, HttpContent c) {
        return writeBody(ctx, stream, p, p, c);
    }

    /** As above, the frame that ends the stream written with {@code end} (to learn when it is out). */
    static boolean writeBody(
            ChannelHandlerContext ctx, Http2FrameStream stream, ChannelPromise p, ChannelPromise end, HttpContent c) {
        boolean last = c instanceof LastHttpContent;
        boolean trailers = last && !((LastHttpContent) c).trailingHeaders().isEmpty();
        if (c.content().isReadable() || !trailers) {
            boolean ends = last && !trailers;
            ctx.write(new DefaultHttp2DataFrame(c.content(), ends).stream(stream), ends ? end : p);
        } else {
            c.release();
        }
        if (trailers) {
            Http2Headers t = H2Heads.http2Trailers(((LastHttpContent) c).trailingHeaders());
            ctx.write(new DefaultHttp2HeadersFrame(t, true).stream(stream), end);
        }
        return last;
    }
}
