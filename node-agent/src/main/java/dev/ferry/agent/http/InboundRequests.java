package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.RequestRecord;
import dev.ferry.agent.connection.Session;
import dev.ferry.agent.observability.RequestMetrics;
import dev.ferry.mesh.authz.Decision;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.time.Instant;
import java.util.ArrayDeque;

/**
 * One inbound connection's requests, one at a time, on the client's side: each head is checked by the gate; an
 * allowed request goes to the app over the connection's one app socket, a denied one is answered 403 here and never
 * reaches the app. A pipelined request waits until the one before it is answered (so a 403 keeps its place among
 * the app's answers). Bad requests are answered 400 (431, 414) and the connection closed, as on the source side.
 * Every request is counted with {@code reporter="destination"} and logged.
 */
final class InboundRequests extends ChannelInboundHandlerAdapter {
    /** Envoy's body for an RBAC denial, which clients and dashboards recognise. */
    static final String DENIED_BODY = "RBAC: access denied";

    private static final int MAX_QUEUED = 64;

    private final HttpInbound http;
    private final Session session;
    private final Channel app;
    private final HttpInbound.Gate gate;
    private final RequestHeadTimer head;
    private final ArrayDeque<HttpObject> queued = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private ConnectionLabels labels;

    private boolean refused;
    /** The client ended its side: the request in progress is answered, then the connection closes. */
    private boolean clientEof;
    /** The app asked to close its connection (or closed it): the client's connection ends after this answer. */
    private boolean appClosing;

    // the request in progress
    private boolean active;
    private boolean forwarding;
    private boolean requestDone;
    private boolean responseDone;
    private boolean keepAlive;
    private int status;
    private Instant start;
    private long startNanos;
    private String method;
    private String path;
    private String authority;
    private String requestId;
    private long requestBytes;
    private long responseBytes;

    private int lastCode = -1;
    private RequestMetrics.Series lastSeries;

    InboundRequests(HttpInbound http, Session session, Channel app, HttpInbound.Gate gate, RequestHeadTimer head) {
        this.http = http;
        this.session = session;
        this.app = app;
        this.gate = gate;
        this.head = head;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
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
        if (active && requestDone) {
            if (queued.size() >= MAX_QUEUED) {
                ReferenceCountUtil.release(o);
                session.abort(CloseReason.DOWNSTREAM_ABORT, "too many pipelined messages ahead of an answer");
                return;
            }
            queued.add(o); // the next pipelined request: it waits for this one's answer
            return;
        }
        if (o instanceof HttpRequest req) {
            begin(req);
        }
        if (o instanceof HttpContent content) {
            requestContent(content);
        }
    }

    private void begin(HttpRequest req) {
        RequestChecks.Refusal refusal = RequestChecks.checkAtTheDestination(req);
        if (refusal != null) {
            refuse(refusal.status(), refusal.reason());
            return;
        }
        head.requestStarted();
        active = true;
        requestDone = false;
        responseDone = false;
        status = 0;
        requestBytes = 0;
        responseBytes = 0;
        start = http.ticker().wallClock().instant();
        startNanos = http.ticker().nanoTime();
        keepAlive = HttpUtil.isKeepAlive(req);
        method = req.method().name();
        path = req.uri(); // normalized by the checks: the path the policy judges and the app serves
        authority = req.headers().get(HttpHeaderNames.HOST, "");
        requestId = req.headers().get("x-request-id");
        Decision decision = gate.check(PolicyView.of(req, path));
        forwarding = decision.allowed();
        if (!forwarding) {
            deny(req);
            return;
        }
        HttpOutboundHandler.stripHopByHop(req.headers());
        requestBytes += Exchange.estimateHead(req.headers());
        app.write(req, app.voidPromise());
        app.read(); // the answer may come before the body is through (an early 413, say)
    }

    /**
     * 403 before the app hears of it. A body still to come is not read for nothing: the connection closes after the
     * answer (one without a body keeps its connection).
     */
    private void deny(HttpRequest req) {
        boolean bodyPending = HttpUtil.isTransferEncodingChunked(req) || HttpUtil.getContentLength(req, 0L) > 0;
        FullHttpResponse r = HttpOutboundHandler.text(HttpResponseStatus.FORBIDDEN, DENIED_BODY);
        if (bodyPending || !keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            keepAlive = false;
        }
        status = 403;
        responseBytes = r.content().readableBytes();
        ctx.writeAndFlush(r, ctx.voidPromise());
        responseDone = true;
        if (bodyPending) {
            requestDone = true; // what follows is not read
            finish();
        }
    }

    private void requestContent(HttpContent c) {
        if (!active) {
            c.release();
            return;
        }
        boolean last = c instanceof LastHttpContent;
        if (forwarding) {
            requestBytes += c.content().readableBytes();
            app.write(c, app.voidPromise());
        } else {
            c.release();
        }
        if (last) {
            requestDone = true;
            if (forwarding) {
                app.flush();
            }
            maybeFinish();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (active && !requestDone && forwarding) {
            app.flush();
        }
        readIfWanted();
    }

    /** More from the client while it sends a body the app is taking, or between requests; never while answering. */
    private void readIfWanted() {
        if (refused || clientEof) {
            return;
        }
        if (!active || (!requestDone && (!forwarding || app.isWritable()))) {
            ctx.read();
        }
    }

    /** The app's socket drained: the client's body may flow again. */
    void appWritable() {
        readIfWanted();
    }

    // ----- the app's answer (from AppResponses, on the same event loop) -----

    /** @return whether the app should be read on (the client takes what is written) */
    boolean response(HttpResponse r) {
        status = r.status().code();
        if (!HttpUtil.isKeepAlive(r)) {
            appClosing = true;
        }
        HttpOutboundHandler.stripHopByHop(r.headers());
        if (!keepAlive || appClosing || clientEof) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        responseBytes += Exchange.estimateHead(r.headers());
        ctx.write(r, ctx.voidPromise());
        return ctx.channel().isWritable();
    }

    boolean responseContent(HttpContent c) {
        responseBytes += c.content().readableBytes();
        if (c instanceof LastHttpContent) {
            ctx.writeAndFlush(c, ctx.voidPromise());
            responseDone = true;
            maybeFinish();
            return false;
        }
        ctx.write(c, ctx.voidPromise());
        return ctx.channel().isWritable();
    }

    void appReadComplete() {
        ctx.flush();
    }

    boolean answering() {
        return active && forwarding && !responseDone;
    }

    /** The app closed its connection: mid-answer the client's connection is cut; before it, 503 {@code UC}. */
    void appClosed() {
        appClosing = true;
        if (active && forwarding && !responseDone) {
            if (status == 0) {
                FullHttpResponse r = HttpOutboundHandler.text(
                        HttpResponseStatus.SERVICE_UNAVAILABLE,
                        "upstream connect error or disconnect/reset before headers");
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                status = 503;
                responseBytes = r.content().readableBytes();
                ctx.writeAndFlush(r, ctx.voidPromise());
                record("UC");
                closeAfterFlush("app closed before answering");
                return;
            }
            record("UC");
            session.abort(CloseReason.UPSTREAM_ABORT, "app closed mid-answer");
            return;
        }
        if (!active) {
            closeAfterFlush(""); // between requests: the client reconnects
        }
    }

    private void maybeFinish() {
        if (active && requestDone && responseDone) {
            finish();
        }
    }

    private void finish() {
        record("-");
        active = false;
        if (!keepAlive || appClosing || clientEof) {
            closeAfterFlush("");
            return;
        }
        head.requestDone();
        HttpObject o;
        while (!active && !refused && (o = queued.poll()) != null) {
            channelRead(ctx, o);
        }
        readIfWanted();
    }

    private void record(String flags) {
        long durationNanos = http.ticker().nanoTime() - startNanos;
        if (labels == null) {
            labels = ConnectionLabels.of(session.record()).withProtocol("http");
        }
        if (status != lastCode || !"-".equals(flags)) {
            lastSeries = http.metrics().series(labels, status, "", flags);
            lastCode = "-".equals(flags) ? status : -1;
        }
        lastSeries.observe(durationNanos / 1e6, requestBytes, responseBytes);
        if (!http.observer().wantsRequests()) {
            return; // no access log: no record built per request
        }
        http.observer()
                .request(
                        session.record(),
                        new RequestRecord(
                                start,
                                method,
                                path,
                                authority,
                                "HTTP/1.1",
                                status,
                                flags,
                                durationNanos / 1_000_000,
                                forwarding ? target() : null,
                                null,
                                forwarding ? 1 : 0,
                                requestId,
                                requestBytes,
                                responseBytes));
    }

    private java.net.InetSocketAddress target() {
        return app.remoteAddress() instanceof java.net.InetSocketAddress a ? a : null;
    }

    private void closeAfterFlush(String detail) {
        refused = true;
        head.over();
        session.record().close(CloseReason.NORMAL, detail);
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        app.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            clientEof = true;
            if (!active) {
                closeAfterFlush("");
            } else if (forwarding && !requestDone) {
                session.abort(CloseReason.DOWNSTREAM_ABORT, "client ended its side mid-request");
            }
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable() && answering()) {
            app.read();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (active) {
            record("DC");
        } else {
            session.record().close(CloseReason.NORMAL, "");
        }
        releaseQueued();
        session.abort(CloseReason.DOWNSTREAM_ABORT, "");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.abort(CloseReason.DOWNSTREAM_ABORT, cause.getClass().getSimpleName() + ": " + cause.getMessage());
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

    private void badRequest(DecoderResult result) {
        refuse(RequestChecks.statusOf(result), result.cause().getMessage());
    }

    /** As on the source side: answered, counted {@code DPE}, closed; nothing read after it is served. */
    private void refuse(HttpResponseStatus s, String reason) {
        refused = true;
        releaseQueued();
        head.over();
        FullHttpResponse r = HttpOutboundHandler.text(s, s.reasonPhrase() + "\n");
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (labels == null) {
            labels = ConnectionLabels.of(session.record()).withProtocol("http");
        }
        http.metrics()
                .series(labels, s.code(), "", "DPE")
                .observe(0, 0, r.content().readableBytes());
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        session.record().close(CloseReason.DOWNSTREAM_ABORT, "bad request: " + reason);
        app.close();
    }
}
