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
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameStream;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream of a client's HTTP/2 connection: its request (the HEADERS made an HTTP request, read as HTTP/1.1's is),
 * served by the call its side makes of it ({@link H2Requests.Server}), its body parts held until the call asks for
 * them (and the client's window returned only then: back-pressure is HTTP/2's flow control), its answer written as
 * frames on the connection. Ending it resets this stream only. On the connection's event loop only.
 */
final class H2Stream implements Downstream, Exchange.Owner, Session, H2Streams.Stream {
    private static final Logger log = LoggerFactory.getLogger(H2Stream.class);

    private final H2Requests owner;
    private final H2Requests.Server server;
    private final Http2FrameStream stream;
    private final ChannelHandlerContext ctx;
    /**
     * For this stream's frames: a write that fails because the stream closed meanwhile is not the connection's
     * error (a void promise would fire it down the pipeline, which ends the connection).
     */
    private final ChannelPromise quiet;
    /** Request parts received, given to the call as it asks; bounded by the stream's flow-control window. */
    private final H2Reads reads = new H2Reads(new H2Reads.Sink() {
        @Override
        public void part(HttpObject o) {
            StreamCall e = call;
            if (e != null) {
                e.requestContent((HttpContent) o);
            } else {
                ReferenceCountUtil.release(o);
            }
        }

        @Override
        public void readOver() {
            StreamCall e = call;
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

    private StreamCall call;
    /** The client sent its request's end (END_STREAM seen, whether or not the call has taken it yet). */
    private boolean requestEnded;

    private boolean responseEnded;
    private boolean over;
    private boolean resetByClient;
    private boolean headSeen;

    H2Stream(H2Requests owner, Http2FrameStream stream) {
        this.owner = owner;
        this.stream = stream;
        this.ctx = owner.ctx();
        this.quiet = owner.quiet();
        this.server = owner.server();
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

    /** The request's HEADERS: checked, then served by its call. */
    void requestHead(Http2HeadersFrame h) {
        requestEnded = h.isEndStream();
        HttpRequest req;
        try {
            req = H2Heads.request(stream.id(), h.headers(), h.isEndStream());
        } catch (Http2Exception | RuntimeException e) {
            log.debug("connection {} stream {}: {}", record().id(), stream.id(), e.toString());
            refuse(HttpResponseStatus.BAD_REQUEST, "bad request head: " + e.getMessage());
            return;
        }
        RequestChecks.Refusal refusal = server.check(req);
        if (refusal != null) {
            refuse(refusal.status(), refusal.reason());
            return;
        }
        call = server.call(this, req);
        StreamCall e = call;
        e.start();
        if (h.isEndStream()) {
            e.requestContent(LastHttpContent.EMPTY_LAST_CONTENT);
        }
    }

    /** The client's trailers: the request's last part. */
    void requestTrailers(Http2HeadersFrame h) {
        requestEnded = true;
        LastHttpContent last = new DefaultLastHttpContent();
        H2Heads.trailers(h.headers(), last.trailingHeaders());
        take(last);
    }

    void requestData(Http2DataFrame d) {
        ByteBuf content = d.content(); // the frame's reference, now the part's
        requestEnded |= d.isEndStream();
        reads.padding(d.initialFlowControlledBytes() - content.readableBytes());
        take(d.isEndStream() ? new DefaultLastHttpContent(content) : new DefaultHttpContent(content));
    }

    private void take(HttpContent c) {
        if (call == null || over) {
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
            ctx.write(
                    new DefaultHttp2HeadersFrame(H2Heads.http2Response(r), alone).stream(stream),
                    alone ? end() : quiet);
            if (alone) {
                ReferenceCountUtil.release(o);
                return;
            }
        }
        if (o instanceof HttpContent c) {
            H2Frames.writeBody(ctx, stream, quiet, c instanceof LastHttpContent ? end() : quiet, c);
        }
    }

    /**
     * The promise for the frame that ends the answer. A client still sending its request is then told to stop with
     * a reset (RFC 9113 8.1: NO_ERROR after a complete answer), once that frame is out: a reset written at once
     * would overtake DATA that flow control still holds. Without it a client whose upload outlives the answer (an
     * app that answers before reading the body) waits on a window nobody will open.
     */
    private ChannelPromise end() {
        responseEnded = true;
        if (requestEnded) {
            return quiet;
        }
        ChannelPromise out = ctx.newPromise();
        out.addListener(f -> {
            if (!requestEnded) {
                reset(Http2Error.NO_ERROR);
            }
        });
        return out;
    }

    @Override
    public void flush() {
        owner.flushSoon();
    }

    @Override
    public boolean isWritable() {
        return owner.streamWritable(stream);
    }

    /** The stream (or the connection) can take more: the call resumes reading the response. */
    @Override
    public void writable() {
        StreamCall e = call;
        if (e != null && !over) {
            e.downstreamWritable();
        }
    }

    @Override
    public void exchangeDone(Exchange e) {
        callDone();
    }

    /** The call is over (answered, its request read or dropped): the stream forgets it. */
    void callDone() {
        call = null;
        reads.release();
        owner.forget(this);
    }

    /** The client reset the stream: whatever the call is doing, its client has gone. */
    private void resetByClient() {
        resetByClient = true;
        closed(null);
    }

    /**
     * The stream is gone: closed both ways, reset, or its connection closed. Closed both ways right behind our end
     * of the answer (the codec says so inside that write), the client's request is all here: it goes to the
     * call, which finishes as its write returns. Otherwise a call still running learns its client left.
     */
    @Override
    public void closed(String why) {
        if (over) {
            return;
        }
        over = true;
        owner.forget(this);
        StreamCall e = call;
        if (e != null && responseEnded && !resetByClient) {
            reads.drain();
            if (e.requestDone()) {
                return;
            }
        }
        reads.release();
        call = null;
        if (e != null) {
            e.downstreamClosed();
        }
    }

    /**
     * A request that cannot be served: answered with {@code status} on this stream. A client still sending its body
     * is then told to stop with a reset (RFC 9113 8.1: NO_ERROR after a complete answer), once the answer is out.
     */
    private void refuse(HttpResponseStatus status, String reason) {
        FullHttpResponse r = HttpOutboundHandler.text(status, status.reasonPhrase() + "\n");
        int n = r.content().readableBytes();
        server.refused(status, n);
        sent(n);
        answer(r);
        log.debug("connection {} stream {}: refused: {}", record().id(), stream.id(), reason);
    }

    /** A whole answer made here, with a body (a refusal, a denial); ownership passes. See {@link #end()}. */
    void answer(FullHttpResponse r) {
        if (over || responseEnded) {
            r.release();
            return;
        }
        ctx.write(new DefaultHttp2HeadersFrame(H2Heads.http2Response(r), false).stream(stream), quiet);
        ctx.write(new DefaultHttp2DataFrame(r.content(), true).stream(stream), end());
        ctx.flush();
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
        return server.session().record();
    }

    @Override
    public Channel downstream() {
        return ctx.channel();
    }

    @Override
    public void received(long n) {
        server.session().received(n);
    }

    @Override
    public void sent(long n) {
        server.session().sent(n);
    }

    /** Ends this stream, not the connection: its other requests go on. */
    @Override
    public void abort(CloseReason reason, String detail) {
        reset(Http2Error.CANCEL);
    }
}
