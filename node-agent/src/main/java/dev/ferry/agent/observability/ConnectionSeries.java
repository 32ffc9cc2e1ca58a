package dev.ferry.agent.observability;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The TCP metrics' data points of one label set, looked up in the counters once and kept: a short connection used
 * to pay five lookups of a twelve-string label list (1.8 % of the event loop under churn, docs/profiling.md).
 * Immutable but for the closed-by-reason slots, filled on first use; two loops racing for a slot get the same data
 * point from the counter, so either write is right.
 */
final class ConnectionSeries {
    final CounterDataPoint opened;
    final CounterDataPoint sent;
    final CounterDataPoint received;
    private final ConnectionLabels labels;
    private final Counter closedCounter;
    private final AtomicReferenceArray<CounterDataPoint> closed =
            new AtomicReferenceArray<>(CloseReason.values().length);

    ConnectionSeries(ConnectionLabels labels, Counter opened, Counter sent, Counter received, Counter closed) {
        String[] open = labels.values("-");
        this.labels = labels;
        this.opened = opened.labelValues(open);
        this.sent = sent.labelValues(open);
        this.received = received.labelValues(open);
        this.closedCounter = closed;
    }

    CounterDataPoint closed(CloseReason reason) {
        CounterDataPoint p = closed.get(reason.ordinal());
        if (p == null) {
            p = closedCounter.labelValues(labels.values(reason.responseFlag()));
            closed.set(reason.ordinal(), p);
        }
        return p;
    }
}
