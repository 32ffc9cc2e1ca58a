package dev.ferry.agent.http;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.connection.Session;
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
 * the idle timeout. While a request is in flight neither runs: the route's timeouts bound it.
 */
final class RequestHeadTimer extends ChannelInboundHandlerAdapter {
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
    private final Session session;
    private final long headNanos;
    private final long idleNanos;
    private ChannelHandlerContext ctx;
    private State state = State.IDLE;
    private Future<?> timer;

    RequestHeadTimer(RelayTimers timers, Session session, long headNanos, long idleNanos) {
        this.timers = timers;
        this.session = session;
        this.headNanos = headNanos;
        this.idleNanos = idleNanos;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        arm(State.IDLE, idleNanos);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.IDLE) {
            arm(State.HEAD, headNanos); // the first byte of a request: the head must follow in time
        }
        ctx.fireChannelRead(msg);
    }

    /** The codec produced a request head. */
    void requestStarted() {
        if (state != State.OVER) {
            cancel();
            state = State.REQUEST;
        }
    }

    /** The request is answered and the connection kept: wait for the next. */
    void requestDone() {
        if (state != State.OVER) {
            arm(State.IDLE, idleNanos);
        }
    }

    /** The connection is closing: no timer any more. */
    void over() {
        cancel();
        state = State.OVER;
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

    private void arm(State s, long nanos) {
        cancel();
        state = s;
        timer = timers.schedule(ctx.channel().eventLoop(), () -> fire(s), nanos);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void fire(State armed) {
        if (state != armed) {
            return; // the state moved on while this was queued
        }
        timer = null;
        state = State.OVER;
        if (armed == State.HEAD) {
            session.record().close(CloseReason.IDLE_TIMEOUT, "no complete request head within the head timeout");
            ctx.writeAndFlush(Unpooled.wrappedBuffer(TIMEOUT)).addListener(ChannelFutureListener.CLOSE);
        } else {
            session.record().close(CloseReason.IDLE_TIMEOUT, "no request within the HTTP idle timeout");
            ctx.close();
        }
    }
}
