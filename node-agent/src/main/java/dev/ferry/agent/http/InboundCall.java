package dev.ferry.agent.http;

import dev.ferry.agent.connection.RequestRecord;
import dev.ferry.mesh.authz.Decision;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.time.Instant;

/**
 * One HTTP/2 request at the destination: decided by the policies in force when it came (a denial is answered 403
 * on its stream and never reaches the app), else sent as a stream of the app's connection, its body and answer
 * moving each way only as the other side takes them (both are HTTP/2 streams: flow control is the back-pressure).
 * Counted and logged once, however it ends. On the connection's event loop only.
 */
final class InboundCall implements StreamCall, UpstreamEvents {
    private final InboundStreams conn;
    private final H2Stream down;
    private final HttpRequest request;
    private final Instant start;
    private final long startNanos;
    private final boolean grpc;

    /** The app's stream: null while the request is denied, or until it is allowed. */
    private H2Upstream up;

    private boolean requestDone;
    private boolean responseStarted;
    private boolean responseDone;
    private boolean finished;
    private int status;
    private String grpcStatus = "";
    private String flags = "-";
    private long requestBytes;
    private long responseBytes;

    InboundCall(InboundStreams conn, H2Stream down, HttpRequest request) {
        this.conn = conn;
        this.down = down;
        this.request = request;
        this.start = conn.http().ticker().wallClock().instant();
        this.startNanos = conn.http().ticker().nanoTime();
        this.grpc = Grpc.isGrpc(request.headers());
        this.requestBytes =
                Exchange.estimateHead(request.headers()) + request.uri().length();
    }

    @Override
    public void start() {
        Decision d = conn.gate().check(PolicyView.of(request, request.uri()));
        if (!d.allowed()) {
            status = 403;
            FullHttpResponse r = HttpOutboundHandler.text(HttpResponseStatus.FORBIDDEN, InboundRequests.DENIED_BODY);
            responseBytes = r.content().readableBytes();
            responseDone = true;
            down.answer(r);
            maybeFinish();
            return;
        }
        up = conn.app().open(() -> {});
        up.attach(this);
        HttpOutboundHandler.stripHopByHop(request.headers());
        up.write(request);
        up.read();
        down.read();
    }

    @Override
    public void requestContent(HttpContent c) {
        int n = c.content().readableBytes();
        requestBytes += n;
        boolean last = c instanceof LastHttpContent;
        if (last) {
            requestDone = true;
        }
        if (finished || up == null) {
            c.release(); // denied, or over: the body has nowhere to go
        } else {
            up.write(c);
            if (last) {
                up.flush();
            }
        }
        maybeFinish();
    }

    @Override
    public void downstreamReadComplete() {
        if (up == null || finished) {
            return;
        }
        up.flush();
        if (!requestDone && up.isWritable()) {
            down.read();
        }
    }

    @Override
    public void upstreamWritable() {
        if (!requestDone && !finished) {
            down.read();
        }
    }

    @Override
    public void downstreamWritable() {
        if (up != null && !finished) {
            up.read();
        }
    }

    @Override
    public void upstreamRead(HttpObject o) {
        if (finished) {
            ReferenceCountUtil.release(o);
            return;
        }
        if (o instanceof HttpResponse r) {
            responseStarted = true;
            status = r.status().code();
            HttpOutboundHandler.stripHopByHop(r.headers());
            responseBytes += Exchange.estimateHead(r.headers());
        }
        if (o instanceof HttpContent c) {
            responseBytes += c.content().readableBytes();
        }
        grpcStatus = Grpc.status(o, grpcStatus);
        down.write(o);
        if (o instanceof LastHttpContent) {
            down.flush();
            responseDone = true;
            maybeFinish();
        }
    }

    @Override
    public void upstreamReadComplete() {
        down.flush();
        if (!responseDone && !finished && down.isWritable()) {
            up.read();
        }
    }

    /** The app's stream or connection ended early: 503 {@code UC} before its answer began, a reset after. */
    @Override
    public void upstreamClosed(Throwable cause) {
        if (finished || responseDone) {
            return;
        }
        flags = "UC";
        if (!responseStarted) {
            status = 503;
            FullHttpResponse r = HttpOutboundHandler.text(
                    HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "upstream connect error or disconnect/reset before headers");
            responseBytes = r.content().readableBytes();
            responseDone = true;
            down.answer(r);
            maybeFinish();
            return;
        }
        finish();
        down.abort(null, "app's stream ended mid-answer"); // resets the client's stream only
    }

    /** The client reset its stream or its connection closed: the app's stream is reset too. */
    @Override
    public void downstreamClosed() {
        if (!responseDone) {
            flags = "DC";
        }
        requestDone = true;
        finish();
    }

    @Override
    public boolean requestDone() {
        return requestDone;
    }

    private void maybeFinish() {
        if (requestDone && responseDone) {
            finish();
        }
    }

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        if (up != null) {
            up.release(true); // an unfinished app stream is reset; the app's connection serves the others
        }
        long durationNanos = conn.http().ticker().nanoTime() - startNanos;
        conn.series(grpc, status, grpcStatus, flags).observe(durationNanos / 1e6, requestBytes, responseBytes);
        if (conn.logs()) {
            log(durationNanos);
        }
        down.callDone();
    }

    private void log(long durationNanos) {
        conn.log(new RequestRecord(
                start,
                request.method().name(),
                request.uri(),
                request.headers().get(HttpHeaderNames.HOST, ""),
                "HTTP/2",
                status,
                flags,
                durationNanos / 1_000_000,
                up != null ? appAddress() : null,
                null,
                up != null ? 1 : 0,
                request.headers().get("x-request-id"),
                requestBytes,
                responseBytes));
    }

    private InetSocketAddress appAddress() {
        return conn.app().ctx().channel().remoteAddress() instanceof InetSocketAddress a ? a : null;
    }
}
