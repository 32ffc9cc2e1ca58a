package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection's requests, one at a time (a pipelined request waits until the one before it is answered):
 * each is planned by {@link HttpRouter}, then answered here (404, 500, 503, a redirect) or sent over a pooled
 * upstream connection, its body streamed both ways with back-pressure (the side that cannot write stops the other
 * from reading). A bad request is answered 400 and the connection closed; so is one whose head is too large (431).
 * Every finished request is counted ({@code istio_requests_total} and its histograms) and logged.
 */
final class HttpOutboundHandler extends ChannelInboundHandlerAdapter implements Exchange.Owner {
    private static final Logger log = LoggerFactory.getLogger(HttpOutboundHandler.class);
    /** Request bodies read while the upstream is being opened: at most a few reads' worth. */
    private static final int MAX_QUEUED = 64;

    private final HttpOutbound http;
    private final HttpConnection conn;
    private final HttpRouter router;
    private final ArrayDeque<HttpObject> queued = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private Downstream down;
    /** The head-read and idle timer in front of the codec. */
    private final RequestPhases head;

    private final SeriesCache series = new SeriesCache();
    /** A request was refused: the connection is closing and reads nothing more. */
    private boolean refused;

    private Exchange current;

    HttpOutboundHandler(HttpOutbound http, HttpConnection conn, HttpRouter router, RequestPhases head) {
        this.head = head;
        this.http = http;
        this.conn = conn;
        this.router = router;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.down = new ChannelDownstream(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused || !(msg instanceof HttpObject o)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (o.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            badRequest(o.decoderResult());
            return;
        }
        if (current != null && current.requestDone()) {
            // the next pipelined request, decoded from the same read: it waits for this one's answer
            queue(o);
            return;
        }
        if (o instanceof HttpRequest req) {
            begin(req);
        }
        if (o instanceof HttpContent content && current != null) {
            current.requestContent(content);
        } else if (o instanceof HttpContent content) {
            content.release();
        }
    }

    private void queue(HttpObject o) {
        if (queued.size() >= MAX_QUEUED) {
            ReferenceCountUtil.release(o);
            conn.session().abort(CloseReason.DOWNSTREAM_ABORT, "too many pipelined messages ahead of an answer");
            return;
        }
        queued.add(o);
    }

    private void begin(HttpRequest req) {
        RequestChecks.Refusal refusal = RequestChecks.check(req);
        if (refusal != null) {
            refuse(refusal.status(), refusal.reason());
            return;
        }
        head.requestStarted();
        current = Exchange.of(http, conn, router, down, this, series, req);
        current.start();
    }

    @Override
    public void exchangeDone(Exchange e) {
        current = null;
        if (!e.keepAlive) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            conn.session().record().close(CloseReason.NORMAL, "");
            return;
        }
        head.requestDone();
        resume();
    }

    /**
     * Takes the next request, but only while the client reads its answers: one that pipelines requests and never
     * reads costs the outbound buffer's high-water mark, not a response per request it sent.
     */
    private void resume() {
        HttpObject o;
        while (current == null && !refused && ctx.channel().isWritable() && (o = queued.poll()) != null) {
            channelRead(ctx, o); // the pipelined requests that were read early
        }
        if (current == null && !refused && ctx.channel().isWritable()) {
            ctx.read();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange e = current;
        if (e == null) {
            resume(); // between requests: ask for the next
            return;
        }
        e.downstreamReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange e = current;
        if (ctx.channel().isWritable() && e != null) {
            e.downstreamWritable();
        } else if (ctx.channel().isWritable()) {
            resume(); // between requests, held back by a client that had stopped reading
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Exchange e = current;
        if (e != null) {
            e.downstreamClosed();
        } else {
            conn.session().record().close(CloseReason.NORMAL, ""); // a keep-alive connection closed between requests
        }
        releaseQueued();
        conn.session().abort(CloseReason.DOWNSTREAM_ABORT, "");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("connection {}: {}", conn.session().record().id(), cause.toString());
        conn.session()
                .abort(CloseReason.DOWNSTREAM_ABORT, cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseQueued();
    }

    private void releaseQueued() {
        HttpObject o;
        while ((o = queued.poll()) != null) {
            ReferenceCountUtil.release(o);
        }
    }

    /** A request that is not HTTP/1.1 as the codec reads it: 400 (431 for a head too large), then close. */
    private void badRequest(DecoderResult result) {
        refuse(RequestChecks.statusOf(result), result.cause().getMessage());
    }

    /**
     * Answers a request that cannot be read or trusted and closes the connection; nothing read after it is served
     * (what follows a bad head cannot be framed: serving it is how smuggled requests get through).
     */
    private void refuse(HttpResponseStatus status, String reason) {
        refused = true;
        releaseQueued();
        if (current != null) {
            current.abandon();
            current = null;
        }
        head.over();
        FullHttpResponse r = text(status, status.reasonPhrase() + "\n");
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        countRefused(http, conn, status, r.content().readableBytes());
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        conn.session().record().close(CloseReason.DOWNSTREAM_ABORT, "bad request: " + reason);
    }

    /** A refused request, counted as Envoy counts it: a downstream protocol error (DPE), to the Service addressed. */
    static void countRefused(HttpOutbound http, HttpConnection conn, HttpResponseStatus status, long bytes) {
        http.metrics()
                .series(
                        RequestLabels.of(http, conn, conn.addressed().service(), null, "http"),
                        status.code(),
                        "",
                        "DPE")
                .observe(0, 0, bytes);
    }

    static FullHttpResponse text(HttpResponseStatus status, String body) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return r;
    }

    /** Whether {@code s[from, to)} is {@code token}, ignoring case. */
    private static boolean token(String s, int from, int to, String token) {
        return to - from == token.length() && s.regionMatches(true, from, token, 0, token.length());
    }

    /** Connection-scoped headers stay on their hop (RFC 9110 7.6.1); Ferry manages each hop's persistence itself. */
    static void stripHopByHop(HttpHeaders h) {
        String connection = h.get(HttpHeaderNames.CONNECTION);
        if (connection != null) {
            // by hand, not split(","): the usual "keep-alive" alone names nothing to remove and allocates nothing
            int from = 0;
            while (from <= connection.length()) {
                int comma = connection.indexOf(',', from);
                int end = comma < 0 ? connection.length() : comma;
                int a = from;
                int b = end;
                while (a < b && connection.charAt(a) <= ' ') {
                    a++;
                }
                while (b > a && connection.charAt(b - 1) <= ' ') {
                    b--;
                }
                if (b > a && !token(connection, a, b, "close") && !token(connection, a, b, "keep-alive")) {
                    h.remove(connection.substring(a, b));
                }
                from = end + 1;
            }
        }
        h.remove(HttpHeaderNames.CONNECTION);
        h.remove(HttpHeaderNames.KEEP_ALIVE);
        h.remove("proxy-connection");
        h.remove(HttpHeaderNames.UPGRADE);
        h.remove(HttpHeaderNames.PROXY_AUTHENTICATE);
        h.remove(HttpHeaderNames.PROXY_AUTHORIZATION);
    }
}
