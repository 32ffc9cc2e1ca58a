package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Session;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
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
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream of a client's HTTP/2 connection: its request (the HEADERS made an HTTP request the router and the
 * exchange read as they read HTTP/1.1's), its body parts held until the exchange asks for them (and the client's
 * window returned only then: back-pressure is HTTP/2's flow control), its answer written as frames on the
 * connection. Ending it resets this stream only. On the connection's event loop only.
 */
final class H2Stream implements Downstream, Exchange.Owner, Session, H2Streams.Stream {
    private static final Logger log = LoggerFactory.getLogger(H2Stream.class);

    private final H2Requests owner;
    private final Http2FrameStream stream;
    private final ChannelHandlerContext ctx;
    private final HttpConnection conn;
    /**
     * For this stream's frames: a write that fails because the stream closed meanwhile is not the connection's
     * error (a void promise would fire it down the pipeline, which ends the connection).
     */
    private final ChannelPromise quiet;
    /** Request parts received, given to the exchange as it asks; bounded by the stream's flow-control window. */
    private final H2Reads reads = new H2Reads(new H2Reads.Sink() {
        @Override
        public void part(HttpObject o) {
            Exchange e = exchange;
            if (e != null) {
                e.requestContent((HttpContent) o);
            } else {
                ReferenceCountUtil.release(o);
            }
        }

        @Override
        public void readOver() {
            Exchange e = exchange;
            if (e != null) {
                e.downstreamReadComplete(); // may ask for more at once
            }
        }

        @Override
        public void giveBack(int bytes) {
            if (!over) {
                ctx.write(new DefaultHttp2WindowUpdateFrame(bytes).stream(stream), quiet);
            }
        }
    });

    private Exchange exchange;
    private boolean responseEnded;
    private boolean over;
    private boolean resetByClient;
    private boolean headSeen;

    H2Stream(H2Requests owner, Http2FrameStream stream) {
        this.owner = owner;
        this.stream = stream;
        this.ctx = owner.ctx();
        this.quiet = owner.quiet();
        this.conn = owner.connection().onStream(this);
    }

    @Override
    public Http2FrameStream frameStream() {
        return stream;
    }

    @Override
    public void frame(Http2StreamFrame f) {
        switch (f) {
            case Http2HeadersFrame h
            when !headSeen -> {
                headSeen = true;
                requestHead(h);
            }
            case Http2HeadersFrame h -> requestTrailers(h);
            case Http2DataFrame d -> requestData(d);
            case Http2ResetFrame r -> resetByClient();
            default -> ReferenceCountUtil.release(f);
        }
    }

    /** The request's HEADERS: checked, then planned and answered or sent. */
    void requestHead(Http2HeadersFrame h) {
        HttpRequest req;
        try {
            req = HttpConversionUtil.toHttpRequest(stream.id(), h.headers(), true);
        } catch (Http2Exception | RuntimeException e) {
            log.debug("connection {} stream {}: {}", record().id(), stream.id(), e.toString());
            refuse(HttpResponseStatus.BAD_REQUEST, "bad request head: " + e.getMessage(), h.isEndStream());
            return;
        }
        H2Frames.fitForHttp1(req, h.isEndStream());
        RequestChecks.Refusal refusal = RequestChecks.check(req);
        if (refusal != null) {
            refuse(refusal.status(), refusal.reason(), h.isEndStream());
            return;
        }
        exchange = Exchange.of(owner.http(), conn, this, this, owner.series, req);
        Exchange e = exchange;
        e.start(owner.router());
        if (h.isEndStream()) {
            e.requestContent(LastHttpContent.EMPTY_LAST_CONTENT);
        }
    }

    /** The client's trailers: the request's last part. */
    void requestTrailers(Http2HeadersFrame h) {
        LastHttpContent last = new DefaultLastHttpContent();
        try {
            HttpConversionUtil.addHttp2ToHttpHeaders(
                    stream.id(), h.headers(), last.trailingHeaders(), HttpVersion.HTTP_1_1, true, true);
        } catch (Http2Exception e) {
            reset(Http2Error.PROTOCOL_ERROR);
            return;
        }
        take(last);
    }

    void requestData(Http2DataFrame d) {
        ByteBuf content = d.content(); // the frame's reference, now the part's
        reads.padding(d.initialFlowControlledBytes() - content.readableBytes());
        take(d.isEndStream() ? new DefaultLastHttpContent(content) : new DefaultHttpContent(content));
    }

    private void take(HttpContent c) {
        if (exchange == null || over) {
            reads.discard(c); // refused or ended: nowhere to go
            return;
        }
        reads.received(c);
    }

    @Override
    public boolean touch() {
        return reads.touch();
    }

    @Override
    public void readComplete() {
        reads.readComplete();
    }

    @Override
    public EventLoop loop() {
        return ctx.channel().eventLoop();
    }

    @Override
    public void read() {
        if (reads.read()) {
            ctx.flush(); // the window update, outside the connection's read
        }
    }

    @Override
    public void write(HttpObject o) {
        if (over || responseEnded) {
            ReferenceCountUtil.release(o);
            return;
        }
        if (o instanceof HttpResponse r) {
            boolean alone = H2Frames.emptyEnd(o); // a whole answer without a body
            writeHeaders(H2Frames.headers(r), alone);
            if (alone) {
                ReferenceCountUtil.release(o);
                return;
            }
        }
        if (o instanceof HttpContent c && H2Frames.writeBody(ctx, stream, quiet, c)) {
            responseEnded = true;
        }
    }

    private void writeHeaders(Http2Headers h, boolean endStream) {
        ctx.write(new DefaultHttp2HeadersFrame(h, endStream).stream(stream), quiet);
        if (endStream) {
            responseEnded = true;
        }
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public boolean isWritable() {
        return owner.streamWritable(stream);
    }

    /** The stream (or the connection) can take more: the exchange resumes reading the response. */
    @Override
    public void writable() {
        Exchange e = exchange;
        if (e != null && !over) {
            e.downstreamWritable();
        }
    }

    @Override
    public void exchangeDone(Exchange e) {
        exchange = null;
        reads.release();
        owner.forget(this);
    }

    /** The client reset the stream: whatever the exchange is doing, its client has gone. */
    private void resetByClient() {
        resetByClient = true;
        closed(null);
    }

    /**
     * The stream is gone: closed both ways, reset, or its connection closed. Closed both ways right behind our end
     * of the answer (the codec says so inside that write), the client's request is all here: it goes to the
     * exchange, which finishes as its write returns. Otherwise an exchange still running learns its client left.
     */
    @Override
    public void closed(String why) {
        if (over) {
            return;
        }
        over = true;
        owner.forget(this);
        Exchange e = exchange;
        if (e != null && responseEnded && !resetByClient) {
            reads.drain();
            if (e.requestDone()) {
                return;
            }
        }
        reads.release();
        exchange = null;
        if (e != null) {
            e.downstreamClosed();
        }
    }

    /**
     * A request that cannot be served: answered with {@code status} on this stream. A client still sending its body
     * is then told to stop with a reset (RFC 9113 8.1: NO_ERROR after a complete answer), once the answer is out.
     */
    private void refuse(HttpResponseStatus status, String reason, boolean requestEnded) {
        FullHttpResponse r = HttpOutboundHandler.text(status, status.reasonPhrase() + "\n");
        int n = r.content().readableBytes();
        HttpOutboundHandler.countRefused(owner.http(), conn, status, n);
        sent(n);
        writeHeaders(H2Frames.headers(r), false);
        ChannelPromise out = ctx.newPromise();
        ctx.write(new DefaultHttp2DataFrame(r.content(), true).stream(stream), out);
        responseEnded = true;
        ctx.flush();
        if (!requestEnded) {
            out.addListener(f -> reset(Http2Error.NO_ERROR)); // after the answer: a reset overtakes queued DATA
        }
        log.debug("connection {} stream {}: refused: {}", record().id(), stream.id(), reason);
    }

    private void reset(Http2Error error) {
        if (!over) {
            ctx.write(new DefaultHttp2ResetFrame(error).stream(stream), quiet);
            ctx.flush();
        }
        closed(null);
    }

    @Override
    public ConnectionRecord record() {
        return owner.connection().session().record();
    }

    @Override
    public Channel downstream() {
        return ctx.channel();
    }

    @Override
    public void received(long n) {
        owner.connection().session().received(n);
    }

    @Override
    public void sent(long n) {
        owner.connection().session().sent(n);
    }

    /** Ends this stream, not the connection: its other requests go on. */
    @Override
    public void abort(CloseReason reason, String detail) {
        reset(Http2Error.CANCEL);
    }
}
