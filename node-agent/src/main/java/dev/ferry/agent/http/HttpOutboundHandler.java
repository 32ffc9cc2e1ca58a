package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.RequestRecord;
import dev.ferry.agent.connection.WorkloadNames;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.Connector;
import dev.ferry.mesh.Workload;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection's requests, one at a time (a pipelined request waits until the one before it is answered):
 * each is planned by {@link HttpRouter}, then answered here (404, 500, 503, a redirect) or sent over a pooled
 * upstream connection, its body streamed both ways with back-pressure (the side that cannot write stops the other
 * from reading). A bad request is answered 400 and the connection closed; so is one whose head is too large (431).
 * Every finished request is counted ({@code istio_requests_total} and its histograms) and logged.
 */
final class HttpOutboundHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(HttpOutboundHandler.class);
    /** Request bodies read while the upstream is being opened: at most a few reads' worth. */
    private static final int MAX_QUEUED = 64;

    private final HttpOutbound http;
    private final HttpConnection conn;
    private final HttpRouter router;
    private final ArrayDeque<HttpObject> queued = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private Exchange current;

    HttpOutboundHandler(HttpOutbound http, HttpConnection conn, HttpRouter router) {
        this.http = http;
        this.conn = conn;
        this.router = router;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpObject o)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (o.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            badRequest(o.decoderResult());
            return;
        }
        if (current != null && current.requestDone) {
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
        String requestId = req.headers().get("x-request-id");
        if (requestId == null || requestId.isEmpty()) {
            requestId = UUID.randomUUID().toString();
            req.headers().set("x-request-id", requestId);
        }
        current = new Exchange(req, requestId);
        Exchange e = current;
        RequestPlan plan = router.plan(http.snapshot().get(), conn.addressed(), clientNamespace(), req);
        switch (plan) {
            case RequestPlan.Answer a -> e.answer(a);
            case RequestPlan.Send s -> e.send(s);
        }
    }

    private String clientNamespace() {
        Workload w = conn.source();
        return w == null ? null : w.namespace();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange e = current;
        if (e == null) {
            ctx.read(); // between requests: ask for the next
            return;
        }
        if (e.upstream != null) {
            e.upstream.flush();
        }
        if (!e.requestDone && (e.upstream == null ? e.answered : e.upstream.isWritable())) {
            ctx.read(); // streaming the request body (or discarding it after an answer)
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange e = current;
        if (ctx.channel().isWritable() && e != null && e.upstream != null) {
            e.upstream.read();
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
        Throwable cause = result.cause();
        HttpResponseStatus status = cause instanceof TooLongFrameException
                ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                : HttpResponseStatus.BAD_REQUEST;
        if (current != null) {
            current.abandonUpstream();
            current = null;
        }
        FullHttpResponse r = text(status, status.reasonPhrase() + "\n");
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        conn.session().record().close(CloseReason.DOWNSTREAM_ABORT, "bad request: " + cause.getMessage());
    }

    private static FullHttpResponse text(HttpResponseStatus status, String body) {
        ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, content);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        return r;
    }

    /** The request/response in flight. */
    private final class Exchange implements UpstreamEvents {
        final HttpRequest request;
        final String requestId;
        final boolean keepAlive;
        final long startNanos = http.ticker().nanoTime();
        final java.time.Instant start = http.ticker().wallClock().instant();
        final String method;
        final String path;
        final String authority;
        RequestPlan.Send plan;
        UpstreamPool.Key key;
        Channel upstream;
        UpstreamHandler upstreamHandler;
        boolean requestDone;
        boolean responseStarted;
        boolean answered;
        boolean responseDone;
        boolean finished;
        boolean upstreamReusable = true;
        int status;
        String flags = "-";
        long requestBytes;
        long responseBytes;
        final ArrayDeque<HttpObject> pending = new ArrayDeque<>();

        Exchange(HttpRequest request, String requestId) {
            this.request = request;
            this.requestId = requestId;
            this.keepAlive = HttpUtil.isKeepAlive(request);
            this.method = request.method().name();
            this.authority = request.headers().get(HttpHeaderNames.HOST);
            String uri = request.uri();
            this.path = uri; // the path as the client sent it, with its query, before any rewrite
            requestBytes += estimateHead(request.headers()) + uri.length();
        }

        void answer(RequestPlan.Answer a) {
            status = a.status();
            flags = a.flags();
            answered = true;
            FullHttpResponse r =
                    text(HttpResponseStatus.valueOf(a.status()), a.location() == null ? a.detail() + "\n" : "");
            if (a.location() != null) {
                r.headers().set(HttpHeaderNames.LOCATION, a.location());
            }
            r.headers()
                    .set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
            responseBytes = r.content().readableBytes();
            conn.session().sent(responseBytes);
            ctx.writeAndFlush(r);
            responseDone = true;
            maybeFinish();
        }

        void send(RequestPlan.Send s) {
            plan = s;
            Workload dest = s.endpoint().workload();
            Connector connector = conn.connectors().forOutbound(conn.source(), dest);
            InetSocketAddress target = s.endpoint().address();
            key = new UpstreamPool.Key(
                    target,
                    connector,
                    conn.source() == null ? "" : conn.source().key(),
                    conn.sourceIp());
            stripHopByHop(request.headers());
            Channel pooled = http.pool().take(ctx.channel().eventLoop(), key);
            if (pooled != null) {
                attach(pooled);
                return;
            }
            UpstreamHandler handler = new UpstreamHandler();
            ConnectRequest req = new ConnectRequest(
                    conn.sockets(),
                    ctx.channel().eventLoop(),
                    target,
                    null,
                    conn.source(),
                    conn.sourceIp(),
                    dest,
                    new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast("http", new HttpClientCodec(8192, 64 * 1024, 64 * 1024));
                            ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, 90, TimeUnit.SECONDS));
                            ch.pipeline().addLast("upstream", handler);
                        }
                    });
            connector.open(req).addListener(f -> {
                if (!f.isSuccess()) {
                    if (current == this && !answered) {
                        upstreamReusable = false;
                        failUpstream(
                                503,
                                "UF",
                                "upstream connect failed: " + f.cause().getMessage());
                    }
                    return;
                }
                Channel ch = (Channel) f.getNow();
                if (current != this || answered) {
                    ch.close();
                    return;
                }
                attach(ch);
            });
        }

        private void attach(Channel ch) {
            upstream = ch;
            upstreamHandler = ch.pipeline().get(UpstreamHandler.class);
            upstreamHandler.attach(this);
            upstream.write(request);
            HttpObject o;
            while ((o = pending.poll()) != null) {
                writeUp((HttpContent) o);
            }
            upstream.flush();
            upstream.read();
            if (!requestDone && upstream.isWritable()) {
                ctx.read();
            }
        }

        void requestContent(HttpContent c) {
            requestBytes += c.content().readableBytes();
            conn.session().received(c.content().readableBytes());
            if (c instanceof LastHttpContent) {
                requestDone = true;
            }
            if (answered) {
                c.release(); // answered here: the body has nowhere to go
                maybeFinish();
                return;
            }
            if (upstream == null) {
                pending.add(c);
                if (pending.size() > MAX_QUEUED) {
                    conn.session().abort(CloseReason.DOWNSTREAM_ABORT, "request body faster than the upstream opens");
                }
                return;
            }
            writeUp(c);
        }

        private void writeUp(HttpContent c) {
            upstream.write(c, upstream.voidPromise());
        }

        @Override
        public void upstreamRead(HttpObject o) {
            if (o.decoderResult().isFailure()) {
                ReferenceCountUtil.release(o);
                upstreamReusable = false;
                failUpstream(502, "UC", "bad response: " + o.decoderResult().cause());
                return;
            }
            if (o instanceof HttpResponse r) {
                if (r.status().code() == 100) {
                    ReferenceCountUtil.release(o); // interim: the final answer follows
                    return;
                }
                responseStarted = true;
                status = r.status().code();
                if (!HttpUtil.isKeepAlive(r)) {
                    upstreamReusable = false;
                }
                stripHopByHop(r.headers());
                for (var m : plan.responseFilters()) {
                    HeaderFilters.apply(m, r.headers());
                }
                if (!keepAlive) {
                    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                }
                responseBytes += estimateHead(r.headers());
                ctx.write(r, ctx.voidPromise());
            }
            if (o instanceof HttpContent c) {
                responseBytes += c.content().readableBytes();
                conn.session().sent(c.content().readableBytes());
                boolean last = c instanceof LastHttpContent;
                if (o instanceof HttpResponse) {
                    // a full response in one object was written above
                } else {
                    ctx.write(c, ctx.voidPromise());
                }
                if (last) {
                    ctx.flush();
                    responseDone = true;
                    maybeFinish();
                }
            } else if (!(o instanceof HttpResponse)) {
                ReferenceCountUtil.release(o);
            }
        }

        @Override
        public void upstreamReadComplete() {
            ctx.flush();
            if (upstream != null && !responseDone && ctx.channel().isWritable()) {
                upstream.read();
            }
        }

        @Override
        public void upstreamWritable() {
            if (!requestDone && current == this) {
                ctx.read();
            }
        }

        @Override
        public void upstreamClosed(Throwable cause) {
            upstreamReusable = false;
            if (responseDone || current != this) {
                return;
            }
            if (!responseStarted) {
                failUpstream(
                        503,
                        "UC",
                        "upstream closed before answering" + (cause == null ? "" : ": " + cause.getMessage()));
                return;
            }
            // half a response is out: the client can only learn of it from the connection closing
            flags = "UC";
            finish();
            conn.session().abort(CloseReason.UPSTREAM_ABORT, "upstream closed mid-response");
        }

        private void failUpstream(int code, String flag, String detail) {
            abandonUpstream();
            if (responseStarted) {
                flags = flag;
                finish();
                conn.session().abort(CloseReason.UPSTREAM_ABORT, detail);
                return;
            }
            answer(new RequestPlan.Answer(code, null, flag, detail));
        }

        void downstreamClosed() {
            if (!responseDone) {
                flags = "DC";
                abandonUpstream();
                finish();
            }
        }

        void abandonUpstream() {
            upstreamReusable = false;
            if (upstream != null) {
                upstreamHandler.detach();
                upstream.close();
                upstream = null;
            }
            HttpObject o;
            while ((o = pending.poll()) != null) {
                ReferenceCountUtil.release(o);
            }
        }

        /** Done when the answer is out and the request fully read: release the upstream, take the next request. */
        private void maybeFinish() {
            if (!responseDone || !requestDone) {
                return;
            }
            finish();
            if (upstream != null) {
                upstreamHandler.detach();
                if (upstreamReusable) {
                    http.pool().give(ctx.channel().eventLoop(), key, upstream);
                } else {
                    upstream.close();
                }
                upstream = null;
            }
            current = null;
            if (!keepAlive) {
                ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
                conn.session().record().close(CloseReason.NORMAL, "");
                return;
            }
            HttpObject o;
            while (current == null && (o = queued.poll()) != null) {
                channelRead(ctx, o); // the pipelined requests that were read early
            }
            if (current == null) {
                ctx.read();
            }
        }

        private void finish() {
            if (finished) {
                return;
            }
            finished = true;
            long durationNanos = http.ticker().nanoTime() - startNanos;
            ConnectionRecord record = conn.session().record();
            ConnectionLabels labels = labels(record);
            http.metrics().finished(labels, status, "", flags, durationNanos / 1e6, requestBytes, responseBytes);
            String upstreamHost = plan == null
                    ? null
                    : plan.endpoint().address().getAddress().getHostAddress() + ":"
                            + plan.endpoint().address().getPort();
            http.observer()
                    .request(
                            record,
                            new RequestRecord(
                                    start,
                                    method,
                                    path,
                                    authority,
                                    "HTTP/1.1",
                                    status,
                                    flags,
                                    durationNanos / 1_000_000,
                                    upstreamHost,
                                    plan == null ? null : plan.route(),
                                    plan == null ? 0 : 1,
                                    requestId,
                                    requestBytes,
                                    responseBytes));
        }

        /** The connection's labels with this request's destination: the backend Service and endpoint chosen. */
        private ConnectionLabels labels(ConnectionRecord record) {
            ConnectionLabels base = ConnectionLabels.base(record);
            var service =
                    plan == null ? conn.addressed().service() : plan.binding().service();
            Workload dest = plan == null ? null : plan.endpoint().workload();
            boolean mtls = plan != null
                    && conn.connectors().forOutbound(conn.source(), dest)
                            != conn.connectors().plain();
            return new ConnectionLabels(
                    base.reporter(),
                    base.sourceWorkload(),
                    base.sourceWorkloadNamespace(),
                    mtls ? conn.source().identity(http.trustDomain()).uri() : base.sourcePrincipal(),
                    service.hostname(http.clusterDomain()),
                    service.namespace(),
                    dest == null ? ConnectionLabels.UNKNOWN : WorkloadNames.of(dest),
                    dest == null ? ConnectionLabels.UNKNOWN : dest.namespace(),
                    mtls ? dest.identity(http.trustDomain()).uri() : ConnectionLabels.UNKNOWN,
                    "http",
                    mtls ? "mutual_tls" : base.connectionSecurityPolicy());
        }
    }

    /** Connection-scoped headers stay on their hop (RFC 9110 7.6.1); Ferry manages each hop's persistence itself. */
    static void stripHopByHop(HttpHeaders h) {
        String connection = h.get(HttpHeaderNames.CONNECTION);
        if (connection != null) {
            for (String token : connection.split(",")) {
                String t = token.trim();
                if (!t.isEmpty() && !t.equalsIgnoreCase("close") && !t.equalsIgnoreCase("keep-alive")) {
                    h.remove(t);
                }
            }
        }
        h.remove(HttpHeaderNames.CONNECTION);
        h.remove(HttpHeaderNames.KEEP_ALIVE);
        h.remove("proxy-connection");
        h.remove(HttpHeaderNames.UPGRADE);
        h.remove(HttpHeaderNames.PROXY_AUTHENTICATE);
        h.remove(HttpHeaderNames.PROXY_AUTHORIZATION);
    }

    private static long estimateHead(HttpHeaders h) {
        long n = 0;
        for (var e : h) {
            n += e.getKey().length() + e.getValue().length() + 4;
        }
        return n;
    }
}
