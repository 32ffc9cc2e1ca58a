package dev.ferry.agent.routing;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the balancer knows of one endpoint's load, shared by the event loops that send to it: requests in flight,
 * and a peak-sensitive moving average of latency (Finagle's and Linkerd's peak-EWMA: a slower answer raises it at
 * once, faster ones bring it down with a ten-second time constant). Lock-free; a racing update can lose one
 * sample, which an average shrugs off.
 */
public final class EndpointLoad {
    /** The moving average's time constant. */
    static final double DECAY_NANOS = 10e9;
    /** The cost of an endpoint with no measured latency yet but requests in flight: high, so it is measured once. */
    static final double PENALTY_NANOS = 1e9;

    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong ewmaBits = new AtomicLong(Double.doubleToRawLongBits(0));
    private final AtomicLong stamp = new AtomicLong();

    /** A request to the endpoint has started. */
    public void started() {
        active.incrementAndGet();
    }

    /** The request that {@link #started} is over after {@code latencyNanos}, at {@code nowNanos}. */
    public void finished(long latencyNanos, long nowNanos) {
        active.decrementAndGet();
        double rtt = Math.max(0, latencyNanos);
        double ewma = Double.longBitsToDouble(ewmaBits.get());
        long last = stamp.getAndSet(nowNanos);
        double next;
        if (ewma == 0 || rtt > ewma) {
            next = rtt; // the peak: a slow answer counts at once
        } else {
            double w = Math.exp(-Math.max(0, nowNanos - last) / DECAY_NANOS);
            next = ewma * w + rtt * (1 - w);
        }
        ewmaBits.set(Double.doubleToRawLongBits(next));
    }

    /** A connection that {@link #started} is over (L4: its lifetime is no latency sample). */
    public void released() {
        active.decrementAndGet();
    }

    public int active() {
        return active.get();
    }

    /** Peak-EWMA's cost: latency times the queue it would join. */
    double cost() {
        double ewma = Double.longBitsToDouble(ewmaBits.get());
        int a = active.get();
        if (ewma == 0) {
            return a == 0 ? 0 : PENALTY_NANOS + a;
        }
        return ewma * (a + 1);
    }
}
