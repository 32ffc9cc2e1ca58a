package dev.ferry.agent.http;

import dev.ferry.agent.connection.ConnectionObserver;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.observability.RequestMetrics;
import dev.ferry.agent.routing.RequestBalancer;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.time.Ticker;
import io.netty.channel.Channel;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * The source side's HTTP layer (HTTP/1.1 with keep-alive): a captured connection to an HTTP Service port is parsed
 * into requests, each routed on its own (HTTPRoute, weights, filters), balanced to an endpoint and sent over a pooled
 * upstream connection through the connector the endpoint calls for (HBONE to a mesh pod, plain TCP otherwise).
 * Agent-wide and immutable apart from the pool.
 *
 * @param timers request and attempt timeouts and retry backoff, on {@code ticker}'s clock
 * @param budgets the retry budget of each backend Service
 * @param headTimeout how long a client may take over a request head once its first byte came (408 after)
 * @param idleTimeout how long a keep-alive client connection may wait between requests (HTTP/2: without a stream)
 * @param maxHeaderBytes the most a request's head (request line and headers) may take: 431 beyond
 */
public record HttpOutbound(
        Supplier<MeshSnapshot> snapshot,
        RequestBalancer balancer,
        RequestMetrics metrics,
        ConnectionObserver observer,
        Ticker ticker,
        RelayTimers timers,
        RetryBudgets budgets,
        String clusterDomain,
        String trustDomain,
        int maxHeaderBytes,
        Duration headTimeout,
        Duration idleTimeout,
        UpstreamPool pool,
        H2Pool h2Pool) {

    public static HttpOutbound of(
            Supplier<MeshSnapshot> snapshot,
            RequestBalancer balancer,
            RequestMetrics metrics,
            ConnectionObserver observer,
            Ticker ticker,
            RelayTimers timers,
            RetryBudgets budgets,
            String clusterDomain,
            String trustDomain,
            Duration headTimeout,
            Duration idleTimeout) {
        return new HttpOutbound(
                snapshot,
                balancer,
                metrics,
                observer,
                ticker,
                timers,
                budgets,
                clusterDomain,
                trustDomain,
                16 * 1024,
                headTimeout,
                idleTimeout,
                new UpstreamPool(),
                new H2Pool());
    }

    /** Takes over the connection's downstream: the codec and the request handler replace what was there. */
    public void start(HttpConnection c) {
        Channel down = c.session().downstream();
        var pipeline = down.pipeline();
        while (pipeline.last() != null) {
            pipeline.removeLast(); // the connection core's placeholder (nothing was read yet: AUTO_READ is off)
        }
        if (c.h2()) {
            startH2(c);
            return;
        }
        RequestHeadTimer head =
                new RequestHeadTimer(timers, ticker, c.session(), headTimeout.toNanos(), idleTimeout.toNanos());
        pipeline.addLast("head-timer", head);
        pipeline.addLast("http", Codecs.server(maxHeaderBytes));
        pipeline.addLast(
                "requests",
                new HttpOutboundHandler(this, c, new HttpRouter(balancer, ThreadLocalRandom.current()), head));
        down.read();
    }

    /**
     * HTTP/2 with prior knowledge: each stream is a request with its own exchange, the same as an HTTP/1.1 request's
     * but answered on its stream (ending it resets the stream, not the connection).
     */
    private void startH2(HttpConnection c) {
        Channel down = c.session().downstream();
        down.pipeline().addLast("h2", H2.server(maxHeaderBytes));
        var router = new HttpRouter(balancer, ThreadLocalRandom.current());
        down.pipeline()
                .addLast(
                        "streams",
                        new H2Requests(
                                new OutboundStreams(this, c, router),
                                new H2IdleTimer(timers, ticker, c.session(), idleTimeout.toNanos())));
        down.pipeline().addLast("end", new ConnectionEnd(c.session()));
        down.config().setAutoRead(true); // frames: flow control and the codec's limits bound what a client sends
    }
}
