package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.connection.Session;
import dev.ferry.time.Ticker;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Future;

/**
 * In front of the HTTP codec, where raw bytes pass: a client must complete a request head within the head timeout
 * of its first byte (a slowloris client trickling a header a byte at a time is answered 408 and closed, rather than
 * holding a connection and a decoder buffer for ever), and a keep-alive connection may sit between requests for
 * the idle timeout. While a request is in flight neither applies: the route's timeouts bound it.
 *
 * <p>One timer per connection, never rescheduled per request: a request only moves the state and its start time,
 * and the timer, when it fires, checks them and sets itself again for what remains (at most every head timeout).
 * Scheduling and cancelling two timers per request cost a priority-queue insert and removal each on a loop serving
 * tens of thousands of requests a second.
 */
final class RequestHeadTimer extends ChannelInboundHandlerAdapter implements RequestPhases {
    private static final byte[] TIMEOUT = ("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                    + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 16\r\n\r\nRequest Timeout\n")
            .getBytes(StandardCharsets.US_ASCII);

    private enum State {
        IDLE,
        HEAD,
        REQUEST,
        OVER
    }

    private final RelayTimers timers;
    private final Ticker ticker;
    private final Session session;
    private final long headNanos;
    private final long idleNanos;
    private ChannelHandlerContext ctx;
    private State state = State.IDLE;
    /** When the current state began, on {@link #ticker}'s clock. */
    private long since;

    private Future<?> timer;

    RequestHeadTimer(RelayTimers timers, Ticker ticker, Session session, long headNanos, long idleNanos) {
        this.timers = timers;
        this.ticker = ticker;
        this.session = session;
        this.headNanos = headNanos;
        this.idleNanos = idleNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        enter(State.IDLE);
        schedule(Math.min(headNanos, idleNanos));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.IDLE) {
            enter(State.HEAD); // the first byte of a request: the head must follow in time
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void requestStarted() {
        if (state != State.OVER) {
            state = State.REQUEST;
        }
    }

    @Override
    public void requestDone() {
        if (state != State.OVER) {
            enter(State.IDLE);
        }
    }

    /** The connection is closing: no timer any more. */
    @Override
    public void over() {
        state = State.OVER;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        over();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        over();
    }

    private void enter(State s) {
        state = s;
        since = ticker.nanoTime();
    }

    private void schedule(long nanos) {
        timer = timers.schedule(ctx.channel().eventLoop(), this::check, Math.max(nanos, 1));
    }

    /** The timer: act on a head or an idle period that ran out, else look again when the next could. */
    private void check() {
        timer = null;
        long elapsed = ticker.nanoTime() - since;
        switch (state) {
            case OVER -> {}
            case REQUEST -> schedule(headNanos);
            case HEAD -> {
                if (elapsed >= headNanos) {
                    state = State.OVER;
                    session.record()
                            .close(CloseReason.IDLE_TIMEOUT, "no complete request head within the head timeout");
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(TIMEOUT)).addListener(ChannelFutureListener.CLOSE);
                } else {
                    schedule(headNanos - elapsed);
                }
            }
            case IDLE -> {
                if (elapsed >= idleNanos) {
                    state = State.OVER;
                    session.record().close(CloseReason.IDLE_TIMEOUT, "no request within the HTTP idle timeout");
                    ctx.close();
                } else {
                    schedule(Math.min(headNanos, idleNanos - elapsed));
                }
            }
        }
    }
}
