package dev.ferry.agent.http;

import dev.ferry.time.Ticker;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How many retries one backend Service may take, as Linkerd bounds them: over the last ten seconds, retries may add
 * at most {@link #RATIO} of the requests plus {@link #MIN_PER_SECOND} per second. When every endpoint fails, a
 * retry policy of three attempts would otherwise quadruple the load on a Service already failing (a retry storm);
 * the budget caps the extra load at a fifth, while a quiet Service can still retry a few requests.
 *
 * <p>Event loops share a budget without a lock: the counters live in one-second slots of atomic arrays, and the slot
 * for a new second is claimed by compare-and-set. A count racing with that reset can be lost; the budget is then off
 * by one request, never unbounded.
 */
final class RetryBudget {
    static final double RATIO = 0.2;
    static final int MIN_PER_SECOND = 10;
    static final int WINDOW_SECONDS = 10;

    private final Ticker ticker;
    private final AtomicLongArray stamps = new AtomicLongArray(WINDOW_SECONDS);
    private final AtomicLongArray requests = new AtomicLongArray(WINDOW_SECONDS);
    private final AtomicLongArray retries = new AtomicLongArray(WINDOW_SECONDS);

    RetryBudget(Ticker ticker) {
        this.ticker = ticker;
        for (int i = 0; i < WINDOW_SECONDS; i++) {
            stamps.set(i, Long.MIN_VALUE); // no second yet
        }
    }

    /** A request was sent to the Service (its first attempt): it earns the Service a fifth of a retry. */
    void request() {
        requests.incrementAndGet(slot(second()));
    }

    /** Whether a retry may be sent now; if so it is counted against the budget. */
    boolean tryRetry() {
        long now = second();
        long req = 0;
        long ret = 0;
        for (int i = 0; i < WINDOW_SECONDS; i++) {
            long s = stamps.get(i);
            if (s > now - WINDOW_SECONDS && s <= now) {
                req += requests.get(i);
                ret += retries.get(i);
            }
        }
        if (ret >= RATIO * req + (double) MIN_PER_SECOND * WINDOW_SECONDS) {
            return false;
        }
        retries.incrementAndGet(slot(now));
        return true;
    }

    private long second() {
        return Math.floorDiv(ticker.nanoTime(), 1_000_000_000L);
    }

    /** The slot of {@code second}, emptied first when it still holds an older second. */
    private int slot(long second) {
        int i = (int) Math.floorMod(second, (long) WINDOW_SECONDS);
        long s = stamps.get(i);
        if (s != second && stamps.compareAndSet(i, s, second)) {
            requests.set(i, 0);
            retries.set(i, 0);
        }
        return i;
    }
}
