package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.HttpConversionUtil;

/**
 * Between the exchange's HTTP/1.1 objects and one HTTP/2 stream's frames, the same at both ends (a client's stream,
 * an upstream's): heads made from frames are fit to go on to an HTTP/1.1 peer, bodies become DATA and trailers.
 */
final class H2Frames {
    /** Netty's conversion marks each head with its stream id: ours alone, not a peer's to see. */
    private static final CharSequence STREAM_ID = HttpConversionUtil.ExtensionHeaderNames.STREAM_ID.text();

    private H2Frames() {}

    /**
     * A head converted from HEADERS, fit for an HTTP/1.1 peer: without Netty's stream-id field, and chunked when a
     * body of unknown length follows (an HTTP/2 peer frames the body itself and drops the field).
     */
    static void fitForHttp1(HttpMessage m, boolean endStream) {
        m.headers().remove(STREAM_ID);
        if (!endStream && !HttpUtil.isContentLengthSet(m)) {
            m.headers().add(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
    }

    /** A last part with no body and no trailers: the head before it goes out with END_STREAM, and it not at all. */
    static boolean emptyEnd(HttpObject o) {
        return o instanceof LastHttpContent last
                && !last.content().isReadable()
                && last.trailingHeaders().isEmpty();
    }

    /**
     * A response head as HTTP/2 headers (connection-specific fields left out). Not validated again: every head here
     * is an HTTP/1.1 object whose fields were validated as they were set (by a codec, a conversion or a filter), and
     * the conversion lower-cases the names.
     */
    static Http2Headers headers(HttpResponse r) {
        Http2Headers h = HttpConversionUtil.toHttp2Headers(r.headers(), false);
        h.status(r.status().codeAsText());
        return h;
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
            // validated as they were set, as the head's (above)
            Http2Headers t = HttpConversionUtil.toHttp2Headers(((LastHttpContent) c).trailingHeaders(), false);
            ctx.write(new DefaultHttp2HeadersFrame(t, true).stream(stream), end);
        }
        return last;
    }
}
