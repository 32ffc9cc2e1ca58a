package dev.ferry.agent.connection;

import io.netty.util.concurrent.EventExecutor;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Where a relayed connection's timeouts (idle, first byte, half-close linger) are scheduled: on the connection's
 * event loop, by the same clock the connection measures its quiet time with. In production that is Netty's timer
 * with the system ticker; a test pairs a manual ticker with timers it fires when it moves that ticker, so an hour's
 * idle timeout is tested without waiting (the two clocks were apart before: the ticker injected, the timers on
 * Netty's, so timeouts could only be tested in real time).
 */
public interface RelayTimers {
    /** Runs {@code task} on {@code loop} after {@code delayNanos} of this clock; the future cancels it. */
    Future<?> schedule(EventExecutor loop, Runnable task, long delayNanos);

    /** Netty's timer on the loop itself (the system clock). */
    RelayTimers NETTY = (loop, task, delayNanos) -> loop.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
}
