package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.TunnelAnswer;
import dev.ferry.agent.connector.ConnectFailure;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.Connector;
import dev.ferry.agent.http.HttpInbound;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GenericFutureListener;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a relayed connection's upstream is opened and the relay started, whatever the direction and
 * connector: open through the connector, map a failure to the close reason the connector named, and once open
 * replace the downstream's {@link EarlyBytes} with the relay, replaying what arrived early (bytes, then FIN).
 */
final class Upstreams {
    private static final Logger log = LoggerFactory.getLogger(Upstreams.class);

    private Upstreams() {}

    /**
     * @param answer told how it went, for a tunnelled downstream (200/503); null for a socket (the relay or the
     *     close is its answer)
     */
    static void open(
            RelayContext ctx, RelaySession session, Connector connector, ConnectRequest request, TunnelAnswer answer) {
        open(ctx, session, connector, request, answer, Upstreams::startRelay);
    }

    /** What runs once the upstream is open and the session knows it. */
    @FunctionalInterface
    interface Start {
        void start(RelayContext ctx, RelaySession session, Channel up);
    }

    static void open(
            RelayContext ctx,
            RelaySession session,
            Connector connector,
            ConnectRequest request,
            TunnelAnswer answer,
            Start start) {
        Future<Channel> opening = connector.open(request);
        session.connecting(opening);
        opening.addListener(new Opened(ctx, session, request, answer, start));
    }

    /**
     * The upstream's open finished: start, or end the session with the connector's reason. A record, not a lambda:
     * made per connection, where a captured lambda is slow (docs/profiling.md).
     */
    private record Opened(
            RelayContext ctx, RelaySession session, ConnectRequest request, TunnelAnswer answer, Start start)
            implements GenericFutureListener<Future<Channel>> {
        @Override
        public void operationComplete(Future<Channel> f) {
            if (f.isCancelled()) {
                return; // the session ended meanwhile and said why
            }
            if (!f.isSuccess()) {
                Throwable cause = f.cause();
                log.debug("connection {} to {} failed: {}", session.record().id(), request.target(), cause.toString());
                if (answer != null) {
                    answer.failed("connect to " + request.target() + " failed: " + cause.getMessage());
                }
                session.abort(ConnectFailure.reasonOf(cause), cause.getMessage());
                return;
            }
            Channel up = f.getNow();
            session.upstream(up);
            if (!session.downstream().isActive()) {
                session.abort(CloseReason.DOWNSTREAM_ABORT, "downstream closed while connecting");
                return;
            }
            if (answer != null) {
                answer.established();
            }
            start.start(ctx, session, up);
        }
    }

    /**
     * Hands both sides to the destination's HTTP layer instead of the relay: the early bytes and end of stream go
     * to its codec, the relay's handler leaves the app's socket (nothing was read on it: AUTO_READ is off).
     */
    static Start http(HttpInbound.Gate gate, boolean h2) {
        return (ctx, session, up) -> {
            Channel down = session.downstream();
            EarlyBytes early = down.pipeline().get(EarlyBytes.class);
            List<ByteBuf> bytes = early.takeBytes();
            boolean eof = early.eof();
            down.pipeline().remove(early);
            up.pipeline().remove(RelayHandler.class);
            ctx.httpInbound().start(session, up, gate, bytes, eof, h2);
        };
    }

    private static void startRelay(RelayContext ctx, RelaySession session, Channel up) {
        Channel down = session.downstream();
        EarlyBytes early = down.pipeline().get(EarlyBytes.class);
        // Take the early bytes out first: replace() calls handlerRemoved, which releases whatever is still held.
        List<ByteBuf> bytes = early.takeBytes();
        boolean eof = early.eof();
        down.pipeline().replace(early, "relay", new RelayHandler(session));
        long earlyBytes = 0;
        for (ByteBuf b : bytes) {
            earlyBytes += b.readableBytes();
            session.bytes(down, b.readableBytes());
            up.write(b, up.voidPromise());
        }
        up.flush();
        if (ctx.splice() && down instanceof AbstractEpollStreamChannel && up instanceof AbstractEpollStreamChannel) {
            session.splice(SpliceRelay.start(session, down, up, earlyBytes, eof));
            if (eof) {
                session.eof(down);
            }
            return;
        }
        if (eof) {
            session.eof(down);
        } else {
            down.read();
        }
        up.read();
    }
}
