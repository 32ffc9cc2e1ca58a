package dev.ferry.agent.http;

import dev.ferry.agent.connection.ConnectionObserver;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.connection.Session;
import dev.ferry.agent.observability.RequestMetrics;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import dev.ferry.time.Ticker;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.time.Duration;
import java.util.List;

/**
 * The destination side's HTTP layer: an inbound connection (plaintext or an HBONE stream) to a pod port that a
 * Service declares HTTP, for a pod that an L7 authorization policy selects, is parsed into requests and each one
 * checked against the policies before it reaches the app; a denied request is answered 403 on the spot. This is the
 * only place a client cannot step around: whatever path it takes to the pod (through its own node's agent, HBONE
 * straight to this node, plaintext to the pod IP) ends on this path. Agent-wide and immutable.
 *
 * @param headTimeout how long a client may take over a request head (408 after)
 * @param idleTimeout how long a keep-alive connection may wait between requests (an HTTP/2 one, without a stream)
 * @param maxHeaderBytes the most a request's head may take: 431 beyond
 */
public record HttpInbound(
        RequestMetrics metrics,
        ConnectionObserver observer,
        Ticker ticker,
        RelayTimers timers,
        int maxHeaderBytes,
        Duration headTimeout,
        Duration idleTimeout) {

    /** Decides one request of the connection (and counts and audits the decision). */
    @FunctionalInterface
    public interface Gate {
        Decision check(AuthzContext.Http request);
    }

    public static HttpInbound of(
            RequestMetrics metrics,
            ConnectionObserver observer,
            Ticker ticker,
            RelayTimers timers,
            Duration headTimeout,
            Duration idleTimeout) {
        return new HttpInbound(metrics, observer, ticker, timers, 16 * 1024, headTimeout, idleTimeout);
    }

    /**
     * Takes over both sides of a connection whose app socket is open and whose pipelines hold nothing of the
     * connection core's (AUTO_READ off, so nothing was read past {@code early}).
     *
     * @param early the bytes that arrived before the app was connected, in order; ownership passes here
     * @param eof the client ended its side before the app was connected
     */
    public void start(Session session, Channel app, Gate gate, List<ByteBuf> early, boolean eof, boolean h2) {
        if (h2) {
            startH2(session, app, gate, early, eof);
            return;
        }
        Channel down = session.downstream();
        RequestHeadTimer head =
                new RequestHeadTimer(timers, ticker, session, headTimeout.toNanos(), idleTimeout.toNanos());
        InboundRequests requests = new InboundRequests(this, session, app, gate, head);
        down.pipeline().addLast("bytes", new ByteCount(session, true));
        down.pipeline().addLast("head-timer", head);
        down.pipeline().addLast("http", Codecs.server(maxHeaderBytes));
        down.pipeline().addLast("requests", requests);
        app.pipeline().addLast("bytes", new ByteCount(session, false));
        app.pipeline().addLast("http", Codecs.client());
        app.pipeline().addLast("responses", new AppResponses(requests));
        deliver(session, early, eof);
        if (!eof) {
            down.read();
        }
    }

    /**
     * HTTP/2 with prior knowledge (a port declared {@code http2} or {@code grpc}): each stream of the client's
     * connection is decided on its own and, when allowed, becomes a stream of one HTTP/2 connection to the app. Both
     * connections read freely: the codecs' limits and the streams' flow-control windows bound what either side
     * sends. The app's connection closing ends the client's (after the answers in flight, with GOAWAY).
     */
    private void startH2(Session session, Channel app, Gate gate, List<ByteBuf> early, boolean eof) {
        Channel down = session.downstream();
        H2Upstreams toApp = new H2Upstreams();
        down.pipeline().addLast("bytes", new ByteCount(session, true));
        down.pipeline().addLast("h2", H2.server(maxHeaderBytes));
        down.pipeline()
                .addLast(
                        "streams",
                        new H2Requests(
                                new InboundStreams(this, session, toApp, gate),
                                new H2IdleTimer(timers, ticker, session, idleTimeout.toNanos())));
        down.pipeline().addLast("end", new ConnectionEnd(session));
        app.pipeline().addLast("bytes", new ByteCount(session, false));
        app.pipeline().addLast("h2", H2.app());
        app.pipeline().addLast("streams", toApp);
        app.closeFuture().addListener(f -> down.close());
        app.config().setAutoRead(true);
        deliver(session, early, eof);
        down.config().setAutoRead(true);
    }

    /** The bytes (and the end) that came before the app was connected, into the client side's codec. */
    private static void deliver(Session session, List<ByteBuf> early, boolean eof) {
        ChannelHandlerContext after = session.downstream().pipeline().context("bytes");
        for (ByteBuf b : early) {
            session.received(b.readableBytes());
            after.fireChannelRead(b);
        }
        if (!early.isEmpty()) {
            after.fireChannelReadComplete();
        }
        if (eof) {
            after.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        }
    }
}
