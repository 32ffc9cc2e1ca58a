package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.RequestRecord;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.Connector;
import dev.ferry.agent.observability.RequestMetrics;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.route.HttpRouteRule;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One request and its answer, across the attempts it takes: planned by the router, answered here (404, 500, 503, a
 * redirect) or sent to an endpoint by an {@link Attempt}, the body streamed both ways with back-pressure (the side
 * that cannot write stops the other from reading). When done it is counted and logged, and its owner moves on to the
 * next request of the connection. On the client connection's event loop only.
 */
final class Exchange implements Attempt.Events, Attempt.ConnectRequestFactory, StreamCall {
    /** Request body parts read while no upstream is attached: a few reads' worth. */
    static final int MAX_UNSENT = 64;
    /**
     * The most request body kept for a retry. A request whose body grew past it is not retried: it has been
     * streamed to the upstream and is no longer held (a large upload is not buffered for a retry that may not come).
     */
    static final int REPLAY_LIMIT = 64 * 1024;
    /**
     * Retries of a request whose rule names no retry policy, only for failures where the application cannot have
     * acted on it: the connection could not be opened, or a pooled connection closed under an idempotent request
     * (the server's keep-alive timeout racing the reuse). Istio's default is the same two.
     */
    static final int DEFAULT_RETRIES = 2;
    /** The backoff base when the rule names none (Envoy's and Istio's default). */
    static final long DEFAULT_BACKOFF_NANOS = 25_000_000L;

    /** The connection-side owner: told when an exchange is over. */
    interface Owner {
        void exchangeDone(Exchange e);
    }

    private final HttpOutbound http;
    private final HttpConnection conn;
    private final HttpRouter router;
    private final Downstream down;
    private final Owner owner;
    private final SeriesCache series;
    final HttpRequest request;
    final String requestId;
    final boolean keepAlive;
    private final long startNanos;
    /** Wall-clock start, for the access log; milliseconds, Envoy's precision, and no Instant per request. */
    private final long startMillis;

    private final String method;
    private final String path;
    private final String authority;
    /** A gRPC call: counted with {@code request_protocol="grpc"} and its {@code grpc-status}. */
    private final boolean grpc;

    private String grpcStatus = "";

    private RequestPlan.Send plan;
    private Attempt attempt;
    private int attempts;
    /** The endpoint of the latest attempt: the one the request is reported against. */
    private Endpoint lastTried;
    /**
     * Body parts not yet written to an attached attempt; owned here. Made on the first such part: a request whose
     * body arrives once its upstream is attached (most) never needs one.
     */
    private ArrayDeque<HttpContent> unsent;
    /**
     * Retained copies of every body part so far, for a retry; released when the exchange ends or the body outgrows it.
     * A request without a body holds only the shared empty last part: no deque.
     */
    private ArrayDeque<HttpContent> replay;
    /** The body was nothing but the shared empty last part (a GET): a retry sends that. */
    private boolean replayEmptyLast;

    private long replayBytes;
    private boolean replayable = true;
    private int retries;
    private RetryBudget budget;
    private Future<?> requestTimer;
    private Future<?> attemptTimer;
    private Future<?> backoffTimer;

    private boolean requestDone;
    private boolean responseStarted;
    private boolean answered;
    private boolean responseDone;
    private boolean finished;
    private int status;
    private String flags = "-";
    private long requestBytes;
    private long responseBytes;

    Exchange(
            HttpOutbound http,
            HttpConnection conn,
            HttpRouter router,
            Downstream down,
            Owner owner,
            SeriesCache series,
            HttpRequest request,
            String requestId) {
        this.http = http;
        this.conn = conn;
        this.router = router;
        this.down = down;
        this.owner = owner;
        this.series = series;
        this.request = request;
        this.requestId = requestId;
        this.keepAlive = HttpUtil.isKeepAlive(request);
        this.startNanos = http.ticker().nanoTime();
        this.startMillis = http.ticker().wallClock().millis();
        this.method = request.method().name();
        this.authority = request.headers().get(HttpHeaderNames.HOST);
        this.grpc = Grpc.isGrpc(request.headers());
        this.path = request.uri(); // as the client sent it, with its query, before any rewrite
        this.requestBytes = estimateHead(request.headers()) + path.length();
    }

    /**
     * An exchange for a request that passed the checks, with its {@code x-request-id} (one made when the client sent
     * none). {@link #start()} it after keeping it: it may be over before that returns.
     */
    static Exchange of(
            HttpOutbound http,
            HttpConnection conn,
            HttpRouter router,
            Downstream down,
            Owner owner,
            SeriesCache series,
            HttpRequest req) {
        String requestId = req.headers().get("x-request-id");
        if (requestId == null || requestId.isEmpty()) {
            requestId = RequestIds.next();
            req.headers().set("x-request-id", requestId);
        }
        return new Exchange(http, conn, router, down, owner, series, req, requestId);
    }

    /** Plans the request (routes, filters, the endpoint) and answers or sends it. */
    @Override
    public void start() {
        Workload client = conn.source();
        start(router.plan(
                http.snapshot().get(),
                conn.addressed(),
                client == null ? null : client.namespace(),
                conn.sourceIp(),
                request));
    }

    void start(RequestPlan p) {
        switch (p) {
            case RequestPlan.Answer a -> answer(a);
            case RequestPlan.Send s -> send(s);
        }
    }

    /** The request is fully read (its last part came in): the connection reads nothing more until this is done. */
    @Override
    public boolean requestDone() {
        return requestDone;
    }

    private void answer(RequestPlan.Answer a) {
        status = a.status();
        flags = a.flags();
        answered = true;
        FullHttpResponse r = HttpOutboundHandler.text(
                HttpResponseStatus.valueOf(a.status()), a.location() == null ? a.detail() + "\n" : "");
        if (a.location() != null) {
            r.headers().set(HttpHeaderNames.LOCATION, a.location());
        }
        r.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? HttpHeaderValues.KEEP_ALIVE : HttpHeaderValues.CLOSE);
        responseBytes = r.content().readableBytes();
        conn.session().sent(responseBytes);
        down.write(r);
        down.flush();
        responseDone = true;
        maybeFinish();
    }

    private void send(RequestPlan.Send s) {
        plan = s;
        HttpOutboundHandler.stripHopByHop(request.headers());
        budget = http.budgets().of(s.binding().service());
        budget.request();
        Duration timeout = s.timeouts().request();
        if (timeout != null) {
            requestTimer = schedule(this::requestTimedOut, timeout.toNanos());
        }
        newAttempt(s.endpoint());
    }

    private Future<?> schedule(Runnable task, long delayNanos) {
        return http.timers().schedule(down.loop(), task, delayNanos);
    }

    private void newAttempt(Endpoint endpoint) {
        Workload dest = endpoint.workload();
        Connector connector = conn.connectors().choose(conn.source(), dest);
        UpstreamPool.Key key = new UpstreamPool.Key(endpoint.address(), connector, conn.sourceKey(), conn.sourceIp());
        attempts++;
        lastTried = endpoint;
        Attempt a = new Attempt(this, endpoint, key, attempts, http.balancer().load(endpoint), http.ticker());
        attempt = a;
        Duration timeout = plan.timeouts().backendRequest();
        if (timeout != null) {
            attemptTimer = schedule(new AttemptTimeout(this, a), timeout.toNanos());
        }
        boolean h2 = plan.binding().protocol().isHttp2();
        // this and a record, not a method reference and a lambda: made per request, where a captured lambda is slow
        // (docs/profiling.md)
        a.start(down.loop(), http.pool(), http.h2Pool(), h2, this);
    }

    private record AttemptTimeout(Exchange exchange, Attempt attempt) implements Runnable {
        @Override
        public void run() {
            exchange.attemptTimedOut(attempt);
        }
    }

    @Override
    public ConnectRequest request(Endpoint endpoint, ChannelInitializer<Channel> init) {
        return new ConnectRequest(
                conn.sockets(),
                down.loop(),
                endpoint.address(),
                null,
                conn.source(),
                conn.sourceIp(),
                endpoint.workload(),
                init);
    }

    @Override
    public void attached(Attempt a) {
        if (a != attempt) {
            a.abandon();
            return;
        }
        a.write(request);
        if (a.number == 1) {
            HttpContent c;
            while (unsent != null && (c = unsent.poll()) != null) {
                a.write(c);
            }
        } else {
            releaseUnsent(); // a retry: every part so far is in the replay buffer
            if (replay != null) {
                for (HttpContent c : replay) {
                    a.write(c.retainedDuplicate());
                }
            }
            if (replayEmptyLast) {
                a.write(LastHttpContent.EMPTY_LAST_CONTENT);
            }
        }
        a.flush();
        a.read();
        if (!requestDone && a.isWritable()) {
            down.read();
        }
    }

    /** A part of the request body, read from the client; ownership passes here. */
    @Override
    public void requestContent(HttpContent c) {
        int n = c.content().readableBytes();
        requestBytes += n;
        conn.session().received(n);
        if (c instanceof LastHttpContent) {
            requestDone = true;
        }
        if (answered || finished) {
            c.release(); // answered here: the body has nowhere to go
            maybeFinish();
            return;
        }
        if (replayable) {
            replayBytes += n;
            if (replayBytes > REPLAY_LIMIT) {
                replayable = false;
                releaseReplay();
            } else if (c == LastHttpContent.EMPTY_LAST_CONTENT) {
                replayEmptyLast = true; // a shared constant: nothing to retain
            } else {
                if (replay == null) {
                    replay = new ArrayDeque<>(4);
                }
                replay.add(c.retainedDuplicate());
            }
        }
        if (attempt == null || !attempt.attached()) {
            if (unsent == null) {
                unsent = new ArrayDeque<>(4);
            }
            unsent.add(c);
            if (unsent.size() > MAX_UNSENT) {
                conn.session().abort(CloseReason.DOWNSTREAM_ABORT, "request body faster than the upstream opens");
            }
            return;
        }
        attempt.write(c);
    }

    /** The client's read burst is over: push what was written upstream; ask for more if the upstream can take it. */
    @Override
    public void downstreamReadComplete() {
        Attempt a = attempt;
        if (a != null && a.attached()) {
            a.flush();
        }
        if (!requestDone && (a == null ? answered : a.isWritable())) {
            down.read(); // streaming the request body (or discarding it after an answer)
        }
    }

    /** The client can take more: resume reading the response. */
    @Override
    public void downstreamWritable() {
        if (attempt != null) {
            attempt.read();
        }
    }

    @Override
    public void response(Attempt a, HttpObject o) {
        if (a != attempt || finished) {
            ReferenceCountUtil.release(o);
            return;
        }
        if (o instanceof HttpResponse r && retriesOn(retryCode(r))) {
            ReferenceCountUtil.release(o);
            dropAttempt(a);
            scheduleRetry();
            return;
        }
        if (o instanceof HttpResponse r) {
            responseStarted = true;
            status = r.status().code();
            HttpOutboundHandler.stripHopByHop(r.headers());
            var filters = plan.responseFilters();
            for (int i = 0; i < filters.size(); i++) {
                HeaderFilters.apply(filters.get(i), r.headers());
            }
            if (!keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            responseBytes += estimateHead(r.headers());
        }
        if (o instanceof HttpContent c) {
            int n = c.content().readableBytes();
            responseBytes += n;
            conn.session().sent(n);
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
    public void responseReadComplete(Attempt a) {
        down.flush();
        if (a == attempt && !responseDone && down.isWritable()) {
            a.read();
        }
    }

    @Override
    public void upstreamWritable(Attempt a) {
        if (a == attempt && !requestDone) {
            down.read();
        }
    }

    @Override
    public void failed(Attempt a, Attempt.Failure f, String detail) {
        if (a != attempt || finished) {
            return;
        }
        dropAttempt(a);
        if (responseStarted) {
            // half a response is out: the client can only learn of it from the connection closing
            flags = f.flag;
            finish();
            conn.session().abort(CloseReason.UPSTREAM_ABORT, detail);
            return;
        }
        if (retriesOn(f, a)) {
            scheduleRetry();
            return;
        }
        releaseUnsent();
        int code = switch (f) {
            case BAD_RESPONSE -> 502;
            case TIMEOUT -> 504;
            case CONNECT, RESET -> 503;
        };
        answer(new RequestPlan.Answer(code, null, f.flag, detail));
    }

    private void dropAttempt(Attempt a) {
        a.abandon();
        attempt = null;
        cancel(attemptTimer);
        attemptTimer = null;
    }

    /** Whether a failure is retried: the rule's retry policy, or the default for what the app never saw. */
    private boolean retriesOn(Attempt.Failure f, Attempt a) {
        HttpRouteRule.Retry retry = plan.retry();
        return switch (f) {
            case CONNECT -> mayRetry("connect_failure", retry == null ? DEFAULT_RETRIES : retry.attempts());
            case RESET -> {
                if (retry != null) {
                    yield mayRetry("reset", retry.attempts());
                }
                yield a.reused() && !a.responseStarted() && idempotent() && mayRetry("reset", DEFAULT_RETRIES);
            }
            case TIMEOUT -> retry != null && mayRetry("timeout", retry.attempts());
            case BAD_RESPONSE -> false;
        };
    }

    /** The code a retry rule sees: a trailers-only gRPC answer's status as its HTTP code, else the status. */
    private int retryCode(HttpResponse r) {
        String g = grpc && r instanceof LastHttpContent ? Grpc.status(r.headers()) : null;
        return g == null ? r.status().code() : Grpc.httpCode(g);
    }

    /** Whether a response status is one the rule retries, and a retry is allowed now. */
    private boolean retriesOn(int code) {
        HttpRouteRule.Retry retry = plan.retry();
        return retry != null && retry.codes().contains(code) && mayRetry("status", retry.attempts());
    }

    /** RFC 9110 9.2.2: a request that may be sent twice with the effect of once. */
    private boolean idempotent() {
        return switch (method) {
            case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true;
            default -> false;
        };
    }

    /** Counts a retry against the attempts allowed and the Service's budget; false when either is spent. */
    private boolean mayRetry(String reason, int allowed) {
        if (finished || answered || !replayable || retries >= allowed) {
            return false;
        }
        boolean ok = budget.tryRetry();
        http.metrics().retry(plan.binding().service().hostname(http.clusterDomain()), reason, ok);
        if (ok) {
            retries++;
        }
        return ok;
    }

    /** The next attempt after an exponential backoff with jitter, never sooner than the rule's backoff. */
    private void scheduleRetry() {
        HttpRouteRule.Retry retry = plan.retry();
        long base = retry == null || retry.backoff() == null
                ? DEFAULT_BACKOFF_NANOS
                : retry.backoff().toNanos();
        long delay = Math.min(base << Math.min(retries - 1, 20), base * 10);
        delay += ThreadLocalRandom.current().nextLong(delay / 2 + 1);
        backoffTimer = schedule(this::retryNow, delay);
    }

    private void retryNow() {
        backoffTimer = null;
        if (finished || answered) {
            return;
        }
        Endpoint next = pickAgain();
        if (next == null) {
            releaseUnsent();
            answer(new RequestPlan.Answer(
                    503, null, "UH", "service " + plan.binding().service().key() + " has no ready endpoint"));
            return;
        }
        newAttempt(next);
    }

    /** An endpoint of the same backend for the retry, another than the last when there is another. */
    private Endpoint pickAgain() {
        Endpoint e = null;
        for (int i = 0; i < 3; i++) {
            e = http.balancer().pick(plan.binding(), plan.loadBalancing(), plan.hashKey(), lastTried);
            if (e == null || !e.equals(lastTried)) {
                return e;
            }
        }
        return e;
    }

    private void requestTimedOut() {
        requestTimer = null;
        if (finished) {
            return;
        }
        String detail = "no answer within the route's request timeout of "
                + plan.timeouts().request().toMillis() + " ms";
        if (responseStarted) {
            flags = "UT";
            abandon();
            finish();
            conn.session().abort(CloseReason.UPSTREAM_ABORT, detail);
            return;
        }
        abandon();
        answer(new RequestPlan.Answer(504, null, "UT", detail));
    }

    private void attemptTimedOut(Attempt a) {
        if (a != attempt || finished) {
            return;
        }
        failed(
                a,
                Attempt.Failure.TIMEOUT,
                "no answer within the rule's backendRequest timeout of "
                        + plan.timeouts().backendRequest().toMillis() + " ms");
    }

    private static void cancel(Future<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

    /**
     * The client went away: before the answer was out (counted as its disconnect, DC), or after it but before its
     * request was all read (counted as answered; told to stop sending, or reset its stream itself). Either way the
     * upstream never got the whole request: its stream is reset, its HTTP/1.1 connection closed, not reused.
     */
    @Override
    public void downstreamClosed() {
        if (!responseDone) {
            flags = "DC";
        }
        abandon();
        finish();
    }

    /** Drops the upstream side (the client sent something unreadable, or left). */
    void abandon() {
        if (attempt != null) {
            dropAttempt(attempt);
        }
        cancel(backoffTimer);
        backoffTimer = null;
        releaseUnsent();
    }

    private void releaseReplay() {
        replayEmptyLast = false;
        HttpContent c;
        while (replay != null && (c = replay.poll()) != null) {
            c.release();
        }
    }

    private void releaseUnsent() {
        HttpContent c;
        while (unsent != null && (c = unsent.poll()) != null) {
            c.release();
        }
    }

    /** Done when the answer is out and the request fully read: release the upstream, hand back to the owner. */
    private void maybeFinish() {
        if (!responseDone || !requestDone) {
            return;
        }
        finish();
        if (attempt != null) {
            attempt.release();
            attempt = null;
        }
        owner.exchangeDone(this);
    }

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        cancel(requestTimer);
        cancel(attemptTimer);
        cancel(backoffTimer);
        releaseUnsent();
        releaseReplay();
        long durationNanos = http.ticker().nanoTime() - startNanos;
        ConnectionRecord record = conn.session().record();
        Endpoint endpoint = lastTried;
        var service = plan == null ? conn.addressed().service() : plan.binding().service();
        RequestMetrics.Series s = series.get(service, endpoint, status, grpcStatus, flags);
        if (s == null) {
            s = http.metrics()
                    .series(
                            RequestLabels.of(http, conn, service, endpoint, grpc ? "grpc" : "http"),
                            status,
                            grpcStatus,
                            flags);
            series.put(service, endpoint, status, grpcStatus, flags, s);
        }
        s.observe(durationNanos / 1e6, requestBytes, responseBytes);

        if (!http.observer().wantsRequests()) {
            return; // no access log: no record built per request
        }
        http.observer()
                .request(
                        record,
                        new RequestRecord(
                                Instant.ofEpochMilli(startMillis),
                                method,
                                path,
                                authority,
                                conn.h2() ? "HTTP/2" : "HTTP/1.1",
                                status,
                                flags,
                                durationNanos / 1_000_000,
                                endpoint == null ? null : endpoint.address(),
                                plan == null ? null : plan.route(),
                                attempts,
                                requestId,
                                requestBytes,
                                responseBytes));
    }

    /** A head's size as on the wire, near enough (name, ": ", value, CRLF per field); twice per request. */
    static long estimateHead(HttpHeaders h) {
        long n = 0;
        // the CharSequence iterator: the String one converts every name and value, an allocation per field
        for (var it = h.iteratorCharSequence(); it.hasNext(); ) {
            var e = it.next();
            n += e.getKey().length() + e.getValue().length() + 4;
        }
        return n;
    }
}
