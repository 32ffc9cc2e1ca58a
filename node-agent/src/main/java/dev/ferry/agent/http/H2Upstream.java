package dev.ferry.agent.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;

/**
 * One request as a stream of a shared HTTP/2 upstream connection: its head and body written as frames (a head
 * with no body goes out as one HEADERS with END_STREAM), the response's frames made HTTP parts for the attempt,
 * given as it asks (the server's window returned for what it took). Released or closed, an unfinished stream is
 * reset; the connection carries on with its others. On the connection's event loop only.
 */
final class H2Upstream implements Upstream, H2Streams.Stream {

    private final H2Upstreams conn;
    private final Http2FrameStream stream;
    private final ChannelHandlerContext ctx;
    private final ChannelPromise quiet;
    /** Tells the pool the stream no longer counts against the connection's limit. */
    private final Runnable onOver;

    private final H2Reads reads = new H2Reads(new H2Reads.Sink() {
        @Override
        public void part(HttpObject o) {
            UpstreamEvents e = events;
            if (e != null) {
                e.upstreamRead(o);
            } else {
                ReferenceCountUtil.release(o);
            }
        }

        @Override
        public void readOver() {
            UpstreamEvents e = events;
            if (e != null) {
                e.upstreamReadComplete();
            }
        }

        @Override
        public void giveBack(int bytes) {
            if (!closed) {
                ctx.write(new DefaultHttp2WindowUpdateFrame(bytes).stream(stream), quiet);
            }
        }
    });

    private UpstreamEvents events;
    /** The head, held until the first body part or a flush: a request without a body is one frame. */
    private HttpRequest head;

    private boolean headSent;
    private boolean requestEnded;
    private boolean responseHeadSeen;
    private boolean responseEnded;
    /** The codec has closed the stream (both ways done, reset, or the connection gone): nothing more is written. */
    private boolean closed;

    private boolean over;

    H2Upstream(H2Upstreams conn, Http2FrameStream stream, Runnable onOver) {
        this.conn = conn;
        this.stream = stream;
        this.ctx = conn.ctx();
        this.quiet = conn.quiet();
        this.onOver = onOver;
    }

    @Override
    public Http2FrameStream frameStream() {
        return stream;
    }

    @Override
    public void frame(Http2StreamFrame f) {
        switch (f) {
            case Http2HeadersFrame h -> responseHeaders(h);
            case Http2DataFrame d -> responseData(d);
            case Http2ResetFrame r -> resetByServer(r.errorCode());
            default -> ReferenceCountUtil.release(f);
        }
    }

    @Override
    public void attach(UpstreamEvents e) {
        events = e;
    }

    @Override
    public void write(HttpObject o) {
        if (closed || over || requestEnded) {
            ReferenceCountUtil.release(o);
            return;
        }
        if (o instanceof HttpRequest r) {
            head = r;
        }
        if (!(o instanceof HttpContent c)) {
            return;
        }
        if (head != null) {
            boolean alone = H2Frames.emptyEnd(c);
            sendHead(alone);
            if (alone) {
                c.release();
                return;
            }
        }
        requestEnded = H2Frames.writeBody(ctx, stream, quiet, c);
    }

    private void sendHead(boolean endStream) {
        HttpRequest r = head;
        head = null;
        ChannelPromise p = ctx.newPromise();
        ctx.write(new DefaultHttp2HeadersFrame(H2Heads.http2Request(r), endStream).stream(stream), p);
        headSent = true;
        requestEnded = endStream;
        if (stream.id() > 0) {
            conn.register(this); // the codec gave the stream its id as the head went out
        }
        p.addListener(f -> {
            if (!f.isSuccess()) {
                closed(f.cause().getMessage()); // the server's stream limit, GOAWAY, the connection gone
            }
        });
    }

    @Override
    public void flush() {
        if (head != null && !closed && !over) {
            sendHead(false); // a body follows, not yet here
        }
        conn.flushSoon();
    }

    @Override
    public void read() {
        if (reads.read()) {
            ctx.flush(); // the window update, outside the connection's read
        }
    }

    @Override
    public boolean isWritable() {
        return closed || conn.streamWritable(stream); // closed, it takes (drops) whatever the exchange still has
    }

    @Override
    public boolean touch() {
        return reads.touch();
    }

    @Override
    public void readComplete() {
        reads.readComplete();
    }

    /** The response head (1xx interim answers are dropped: the final one follows), or its trailers. */
    private void responseHeaders(Http2HeadersFrame f) {
        Http2Headers h = f.headers();
        try {
            if (responseHeadSeen) {
                LastHttpContent last = new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER);
                H2Heads.trailers(h, last.trailingHeaders());
                responseEnded = true;
                reads.received(last);
                return;
            }
            HttpResponseStatus status = H2Heads.status(h);
            if (status.codeClass() == HttpStatusClass.INFORMATIONAL) {
                return;
            }
            responseHeadSeen = true;
            responseEnded = f.isEndStream();
            HttpMessage m = H2Heads.response(stream.id(), h, status, responseEnded);
            reads.received(m);
        } catch (Http2Exception e) {
            reset(Http2Error.PROTOCOL_ERROR);
            fail("bad response head: " + e.getMessage());
        }
    }

    private void responseData(Http2DataFrame d) {
        ByteBuf content = d.content(); // the frame's reference, now the part's
        reads.padding(d.initialFlowControlledBytes() - content.readableBytes());
        HttpContent c = d.isEndStream() ? new DefaultLastHttpContent(content) : new DefaultHttpContent(content);
        if (!responseHeadSeen || responseEnded) {
            reads.discard(c); // DATA before a head or after the end: not HTTP, nothing to give it to
            return;
        }
        responseEnded = d.isEndStream();
        reads.received(c);
    }

    private void resetByServer(long errorCode) {
        closed("stream reset by the upstream (" + Http2Error.valueOf(errorCode) + ")");
    }

    /** The stream became writable: the exchange resumes reading the request body. */
    @Override
    public void writable() {
        UpstreamEvents e = events;
        if (e != null && !over) {
            e.upstreamWritable();
        }
    }

    /**
     * The codec closed the stream, or its connection closed. A response that was complete is still given as asked
     * (its last parts may wait); one that was not is the attempt's failure.
     */
    @Override
    public void closed(String why) {
        closed = true;
        conn.forget(this);
        if (!responseEnded) {
            fail(why == null ? "stream closed before the answer was complete" : why);
        } else {
            writable(); // answered, then reset (the server wants no more body): a body still coming is dropped
        }
    }

    private void fail(String why) {
        UpstreamEvents e = events;
        if (e != null && !over) {
            e.upstreamClosed(new IOException(why));
        }
    }

    @Override
    public void release(boolean reusable) {
        if (!(requestEnded && responseEnded)) {
            reset(Http2Error.CANCEL);
        }
        end();
    }

    @Override
    public void close() {
        reset(Http2Error.CANCEL);
        end();
    }

    private void reset(Http2Error error) {
        if (headSent && !closed) {
            closed = true;
            ctx.write(new DefaultHttp2ResetFrame(error).stream(stream), quiet);
            ctx.flush();
        }
    }

    private void end() {
        if (over) {
            return;
        }
        over = true;
        events = null;
        head = null;
        reads.release();
        conn.forget(this);
        onOver.run();
    }
}
