package dev.ferry.agent.http;

import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.routing.EndpointLoad;
import dev.ferry.mesh.Endpoint;
import dev.ferry.time.Ticker;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * One try of a request at one endpoint: an upstream connection taken from the pool or opened through the connector,
 * the request written to it by its exchange, the response passed back part by part. It knows nothing of retries:
 * it says how it failed and the exchange decides. Lives on the client connection's event loop, as its upstream does.
 */
final class Attempt implements UpstreamEvents {
    /** How an attempt can fail before its response is complete; each maps to Envoy's response flag. */
    enum Failure {
        /** The connection could not be opened: nothing was sent. */
        CONNECT("UF"),
        /** The connection closed or reset before the response was complete. */
        RESET("UC"),
        /** The upstream's answer was not HTTP. */
        BAD_RESPONSE("UC"),
        /** No answer within the rule's backend request timeout. */
        TIMEOUT("UT");

        final String flag;

        Failure(String flag) {
            this.flag = flag;
        }
    }

    /** What the attempt tells its exchange; called on the event loop. */
    interface Events {
        /** The upstream is ready: the exchange writes the request. */
        void attached(Attempt a);

        /** A response part (interim 1xx answers are dropped before this); ownership passes to the callee. */
        void response(Attempt a, HttpObject o);

        void responseReadComplete(Attempt a);

        void upstreamWritable(Attempt a);

        /** The attempt failed; its connection is already closed. */
        void failed(Attempt a, Failure f, String detail);
    }

    final Endpoint endpoint;
    final UpstreamPool.Key key;
    /** 1 for the first try. */
    final int number;

    private final Events events;
    private Upstream upstream;
    private boolean reused;
    private boolean responseStarted;
    private boolean responseDone;
    private boolean reusable = true;
    private boolean over;
    /** A stream of a shared HTTP/2 connection: never pooled, closed (reset if unfinished) when released. */
    private boolean multiplexed;

    private final EndpointLoad load;
    private final Ticker ticker;
    private long startNanos;

    Attempt(Events events, Endpoint endpoint, UpstreamPool.Key key, int number, EndpointLoad load, Ticker ticker) {
        this.events = events;
        this.load = load;
        this.ticker = ticker;
        this.endpoint = endpoint;
        this.key = key;
        this.number = number;
    }

    /**
     * HTTP/1.1: takes an idle pooled connection for the key, or opens one through the key's connector. HTTP/2 (the
     * backend port is http2 or grpc): opens a stream on the key's shared connection.
     */
    void start(EventLoop loop, UpstreamPool pool, H2Pool h2, boolean multiplex, ConnectRequestFactory connect) {
        startNanos = ticker.nanoTime();
        load.started();
        multiplexed = multiplex;
        if (multiplex) {
            h2.stream(loop, key, init -> key.connector().open(connect.request(endpoint, init)), this::opened);
            return;
        }
        Channel pooled = pool.take(loop, key);
        if (pooled != null) {
            reused = true;
            attach(new ChannelUpstream(pooled, pool, loop, key));
            return;
        }
        key.connector()
                .open(connect.request(endpoint, new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("http", Codecs.client());
                        // idle by what it reads (a pooled connection writes nothing either): Netty's all-idle
                        // kind hangs a listener, and a promise, on every write of every request
                        ch.pipeline().addLast("idle", new IdleStateHandler(90, 0, 0, TimeUnit.SECONDS));
                        ch.pipeline().addLast("upstream", new UpstreamHandler());
                    }
                }))
                .addListener(f -> opened(
                        f.isSuccess() ? new ChannelUpstream((Channel) f.getNow(), pool, loop, key) : null, f.cause()));
    }

    private void opened(Upstream u, Throwable cause) {
        if (over) {
            if (u != null) {
                u.close();
            }
            return;
        }
        if (u == null) {
            fail(Failure.CONNECT, "upstream connect failed: " + cause.getMessage());
            return;
        }
        attach(u);
    }

    /** How an attempt asks for a new connection: the request's sockets, loop and identities, for one endpoint. */
    interface ConnectRequestFactory {
        ConnectRequest request(Endpoint endpoint, ChannelInitializer<Channel> init);
    }

    private void attach(Upstream u) {
        upstream = u;
        u.attach(this);
        events.attached(this);
    }

    /** Whether this attempt's connection came from the pool (a stale one may close under the first request). */
    boolean reused() {
        return reused;
    }

    boolean attached() {
        return upstream != null && !over;
    }

    boolean responseStarted() {
        return responseStarted;
    }

    void write(HttpObject o) {
        upstream.write(o);
    }

    void flush() {
        upstream.flush();
    }

    void read() {
        if (attached()) {
            upstream.read();
        }
    }

    boolean isWritable() {
        return attached() && upstream.isWritable();
    }

    /**
     * The exchange is done with this attempt: an HTTP/1.1 connection goes back to the pool when it can carry
     * another request; an HTTP/2 stream is over (reset if unfinished).
     */
    void release() {
        if (over) {
            return;
        }
        over = true;
        loadDone();
        if (upstream != null) {
            upstream.release(!multiplexed && reusable && responseDone);
        }
    }

    /** Drops the attempt and its upstream (a timeout, a retry, the client gone). */
    void abandon() {
        if (over) {
            return;
        }
        over = true;
        loadDone();
        if (upstream != null) {
            upstream.close();
        }
    }

    /** The balancer learns how long the endpoint took (a failure counts with the time it took to fail). */
    private void loadDone() {
        long now = ticker.nanoTime();
        load.finished(now - startNanos, now);
    }

    /** The connection can no longer carry another request (the request was not fully written, say). */
    void notReusable() {
        reusable = false;
    }

    private void fail(Failure f, String detail) {
        abandon();
        events.failed(this, f, detail);
    }

    @Override
    public void upstreamRead(HttpObject o) {
        if (over) {
            ReferenceCountUtil.release(o);
            return;
        }
        if (o.decoderResult().isFailure()) {
            ReferenceCountUtil.release(o);
            reusable = false;
            fail(Failure.BAD_RESPONSE, "bad response: " + o.decoderResult().cause());
            return;
        }
        if (o instanceof HttpResponse r) {
            if (r.status().code() == 100) {
                ReferenceCountUtil.release(o); // interim: the final answer follows
                return;
            }
            responseStarted = true;
            if (!HttpUtil.isKeepAlive(r)) {
                reusable = false;
            }
        }
        if (o instanceof LastHttpContent) {
            responseDone = true;
        }
        events.response(this, o);
    }

    @Override
    public void upstreamReadComplete() {
        if (!over) {
            events.responseReadComplete(this);
        }
    }

    @Override
    public void upstreamWritable() {
        if (!over) {
            events.upstreamWritable(this);
        }
    }

    @Override
    public void upstreamClosed(Throwable cause) {
        reusable = false;
        if (over || responseDone) {
            return;
        }
        fail(
                Failure.RESET,
                (responseStarted ? "upstream closed mid-response" : "upstream closed before answering")
                        + (cause == null ? "" : ": " + cause.getMessage()));
    }

    @Override
    public String toString() {
        return "attempt " + number + " to " + endpoint.address();
    }
}
