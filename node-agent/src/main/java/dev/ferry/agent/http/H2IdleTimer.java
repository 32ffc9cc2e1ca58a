package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.connection.Session;
import dev.ferry.time.Ticker;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2Connection;
import java.util.concurrent.Future;

/**
 * A client's HTTP/2 connection may sit without a stream for the HTTP idle timeout, as an HTTP/1.1 keep-alive
 * connection may sit between requests; then it is closed with GOAWAY (the codec sends it when the connection
 * closes). Idle is measured from the later of the client's last read and its last stream's end: a client that
 * connects and sends nothing, or only a preface, or half a frame, holds a connection and its codec for that long and
 * no longer. While a stream is open the requests' own timeouts bound it.
 *
 * <p>One timer per connection, never rescheduled per stream (as {@link RequestHeadTimer}): activity only moves a
 * time, and the timer, when it fires, looks at it and sets itself again for what remains. On the connection's event
 * loop only.
 */
final class H2IdleTimer {
    private final RelayTimers timers;
    private final Ticker ticker;
    private final Session session;
    private final long idleNanos;
    private ChannelHandlerContext ctx;
    private Http2Connection connection;
    /** The last read or stream end, on {@link #ticker}'s clock. */
    private long last;

    private boolean over;
    private Future<?> timer;

    H2IdleTimer(RelayTimers timers, Ticker ticker, Session session, long idleNanos) {
        this.timers = timers;
        this.ticker = ticker;
        this.session = session;
        this.idleNanos = idleNanos;
    }

    /** The connection's handler is in place, behind its codec. */
    void start(ChannelHandlerContext ctx, Http2Connection connection) {
        this.ctx = ctx;
        this.connection = connection;
        last = ticker.nanoTime();
        schedule(idleNanos);
    }

    /** The client sent something, or a stream ended: the idle period starts again. */
    void active() {
        last = ticker.nanoTime();
    }

    /** The connection is closing: no timer any more. */
    void over() {
        over = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void schedule(long nanos) {
        timer = timers.schedule(ctx.channel().eventLoop(), this::check, Math.max(nanos, 1));
    }

    private void check() {
        timer = null;
        if (over) {
            return;
        }
        if (connection.numActiveStreams() > 0) {
            schedule(idleNanos); // a stream's end marks the time again
            return;
        }
        long quiet = ticker.nanoTime() - last;
        if (quiet < idleNanos) {
            schedule(idleNanos - quiet);
            return;
        }
        over = true;
        session.record().close(CloseReason.IDLE_TIMEOUT, "no HTTP/2 stream within the HTTP idle timeout");
        ctx.close();
    }
}
