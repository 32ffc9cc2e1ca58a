package dev.ferry.agent.observability;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetric;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.instrumentation.jvm.JvmBufferPoolMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmClassLoadingMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmCompilationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmGarbageCollectorMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmMemoryPoolAllocationMetrics;
import io.prometheus.metrics.instrumentation.jvm.JvmRuntimeInfoMetric;
import io.prometheus.metrics.instrumentation.jvm.JvmThreadsMetrics;
import io.prometheus.metrics.instrumentation.jvm.ProcessMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.LongSupplier;

/**
 * Every metric the agent exports: Istio's standard TCP metrics (names and labels as Istio's, so existing Grafana
 * and Kiali dashboards work) and Ferry's internals under {@code ferry_} in base units. One registry per agent.
 */
public final class Metrics {
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter opened;
    private final Counter closed;
    private final Counter authzDecisions;
    private final Counter authzRechecks;
    private final Counter sentBytes;
    private final Counter receivedBytes;
    private final Counter closeReasons;
    private final Counter meshReloads;
    private final Counter acceptErrors;
    private final Gauge meshVersion;
    private final Gauge transportInfo;

    private final RequestMetrics requests;
    private final ConcurrentHashMap<ConnectionLabels, ConnectionSeries> series = new ConcurrentHashMap<>();
    /** ferry_connections_closed_total's data points per direction, indexed by close reason, filled on first use. */
    private final ConcurrentHashMap<String, AtomicReferenceArray<CounterDataPoint>> closeReasonPoints =
            new ConcurrentHashMap<>();

    /**
     * Exemplars are off on every counter: sampling one costs a clock read and a span lookup per inc() (the close
     * reasons' counter is incremented per connection), and no counter here is linked to a trace.
     */
    public Metrics() {
        requests = new RequestMetrics(registry);
        opened = Counter.builder()
                .name("istio_tcp_connections_opened_total")
                .help("TCP connections opened")
                .labelNames(ConnectionLabels.NAMES)
                .withoutExemplars()
                .register(registry);
        closed = Counter.builder()
                .name("istio_tcp_connections_closed_total")
                .help("TCP connections closed")
                .labelNames(ConnectionLabels.NAMES)
                .withoutExemplars()
                .register(registry);
        sentBytes = Counter.builder()
                .name("istio_tcp_sent_bytes_total")
                .help("Bytes sent during response (upstream to downstream), counted as they flow")
                .labelNames(ConnectionLabels.NAMES)
                .withoutExemplars()
                .register(registry);
        receivedBytes = Counter.builder()
                .name("istio_tcp_received_bytes_total")
                .help("Bytes received during request (downstream to upstream), counted as they flow")
                .labelNames(ConnectionLabels.NAMES)
                .withoutExemplars()
                .register(registry);
        closeReasons = Counter.builder()
                .name("ferry_connections_closed_total")
                .help("Relayed connections closed, by direction and close reason")
                .labelNames("direction", "reason")
                .withoutExemplars()
                .register(registry);
        meshReloads = Counter.builder()
                .name("ferry_mesh_reloads_total")
                .help("Mesh file reloads by outcome (applied, partial, rejected, unchanged)")
                .labelNames("outcome")
                .withoutExemplars()
                .register(registry);
        acceptErrors = Counter.builder()
                .name("ferry_accept_errors_total")
                .help("Errors accepting connections (e.g. out of file descriptors); accept backs off after one")
                .labelNames("listener")
                .withoutExemplars()
                .register(registry);
        authzDecisions = Counter.builder()
                .name("ferry_authz_decisions_total")
                .help("Authorization decisions on inbound connections, by outcome and deciding policy (none: no"
                        + " policy decided)")
                .labelNames("decision", "policy")
                .withoutExemplars()
                .register(registry);
        authzRechecks = Counter.builder()
                .name("ferry_authz_connections_cut_total")
                .help("Live connections cut because a policy change denies them")
                .withoutExemplars()
                .register(registry);
        meshVersion = Gauge.builder()
                .name("ferry_mesh_snapshot_version")
                .help("Version of the mesh snapshot in force")
                .register(registry);
        transportInfo = Gauge.builder()
                .name("ferry_transport_info")
                .help("The I/O transport in use (value is always 1)")
                .labelNames("transport", "event_loops")
                .register(registry);
        // JvmMetrics.builder() less its native-memory part: that one reads NMT through the platform MBean server,
        // whose diagnostic-command bean loads JMX and the JFR commands' classes (~290) on every node, for gauges
        // that stay empty unless the JVM runs with -XX:NativeMemoryTracking (make bench-footprint reads NMT itself)
        JvmThreadsMetrics.builder().register(registry);
        JvmBufferPoolMetrics.builder().register(registry);
        JvmClassLoadingMetrics.builder().register(registry);
        JvmCompilationMetrics.builder().register(registry);
        JvmGarbageCollectorMetrics.builder().register(registry);
        JvmMemoryPoolAllocationMetrics.builder().register(registry);
        JvmMemoryMetrics.builder().register(registry);
        JvmRuntimeInfoMetric.builder().register(registry);
        ProcessMetrics.builder().register(registry);
        ByteBufAllocatorMetric allocator = bufferAllocator();
        GaugeWithCallback.builder()
                .name("ferry_netty_direct_memory_bytes")
                .help("Direct memory held by Netty's buffer allocator (the one the channels use)")
                .unit(Unit.BYTES)
                .callback(cb -> cb.call(allocator.usedDirectMemory()))
                .register(registry);
        GaugeWithCallback.builder()
                .name("ferry_netty_heap_memory_bytes")
                .help("Heap memory held by Netty's buffer allocator (the one the channels use)")
                .unit(Unit.BYTES)
                .callback(cb -> cb.call(allocator.usedHeapMemory()))
                .register(registry);
    }

    /** The allocator the channels use: Netty 4.2's default, the adaptive one (the pooled arenas stay empty). */
    public static ByteBufAllocatorMetric bufferAllocator() {
        return ((ByteBufAllocatorMetricProvider) ByteBufAllocator.DEFAULT).metric();
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** Registers the open-connection gauge, read from the registry at scrape time. */
    /**
     * Registers the count of outbound connections and requests sent in plaintext to an enrolled pod because its node's
     * agent has not marked it captured ({@code hboneOutbound: auto}), read at scrape time.
     */
    public void uncapturedPlaintext(LongSupplier count) {
        CounterWithCallback.builder()
                .name("ferry_outbound_plaintext_uncaptured")
                .help("Outbound connections and requests to enrolled pods not marked captured, sent in plaintext")
                .callback(cb -> cb.call(count.getAsLong()))
                .register(registry);
    }

    /** Registers the mesh source's watches, read at scrape time: 1 while a kind is watched, 0 while its watch is down. */
    public void meshSourceWatching(java.util.function.Supplier<java.util.Map<String, Boolean>> watching) {
        GaugeWithCallback.builder()
                .name("ferry_mesh_source_watching")
                .help("1 while the mesh source follows a kind (its watch is up), 0 while it serves the last good state")
                .labelNames("kind")
                .callback(cb -> watching.get().forEach((kind, up) -> cb.call(up ? 1 : 0, kind)))
                .register(registry);
    }

    public void openConnections(LongSupplier outbound, LongSupplier inbound) {
        GaugeWithCallback.builder()
                .name("ferry_connections_open")
                .help("Relayed connections open now, by direction")
                .labelNames("direction")
                .callback(cb -> {
                    cb.call(outbound.getAsLong(), "outbound");
                    cb.call(inbound.getAsLong(), "inbound");
                })
                .register(registry);
    }

    /**
     * Registers the pod gauges, read at scrape time: pods captured by this agent, and pods of this node the mesh
     * says are enrolled (with an IP, so running) that this agent never captured — started before their namespace
     * was enrolled; they must be restarted to be captured.
     */
    public void pods(LongSupplier captured, LongSupplier uncaptured) {
        GaugeWithCallback.builder()
                .name("ferry_pods")
                .help("Pods of this node in the mesh, by capture state (uncaptured: started before enrollment)")
                .labelNames("state")
                .callback(cb -> {
                    cb.call(captured.getAsLong(), "captured");
                    cb.call(uncaptured.getAsLong(), "uncaptured");
                })
                .register(registry);
    }

    /**
     * Registers the background-worker gauges (see {@code Watchdog}), read at scrape time: 1 while a worker is alive
     * and beating, 0 when it died or is stuck; and the failures each survived.
     */
    public void workers(java.util.function.Supplier<java.util.List<dev.ferry.agent.health.Watchdog.Watched>> workers) {
        GaugeWithCallback.builder()
                .name("ferry_worker_up")
                .help("Background workers (mesh watcher, certificates, event loops, ...): 1 alive and beating, 0 dead"
                        + " or stuck (readiness is red then)")
                .labelNames("worker")
                .callback(cb -> workers.get()
                        .forEach(w -> cb.call(
                                dev.ferry.agent.health.Watchdog.healthy(w) ? 1 : 0,
                                w.heartbeat().name())))
                .register(registry);
        io.prometheus.metrics.core.metrics.CounterWithCallback.builder()
                .name("ferry_worker_failures_total")
                .help("Failures a background worker caught and survived")
                .labelNames("worker")
                .callback(cb -> workers.get()
                        .forEach(w ->
                                cb.call(w.heartbeat().failures(), w.heartbeat().name())))
                .register(registry);
    }

    /** @param policy the deciding policy ({@code namespace/name}), or empty */
    public void authzDecision(boolean allowed, String policy) {
        authzDecisions
                .labelValues(allowed ? "allow" : "deny", policy.isEmpty() ? "none" : policy)
                .inc();
    }

    public void authzCut(int connections) {
        authzRechecks.inc(connections);
    }

    public void transport(String name, int eventLoops) {
        transportInfo.labelValues(name, Integer.toString(eventLoops)).set(1);
    }

    public void meshReload(String outcome, long version) {
        meshReloads.labelValues(outcome).inc();
        meshVersion.set(version);
    }

    public void acceptError(String listener) {
        acceptErrors.labelValues(listener).inc();
    }

    /** The HTTP request metrics. */
    public RequestMetrics requests() {
        return requests;
    }

    /** Per-connection handles, looked up once so the per-read cost is one adder increment. */
    public ConnectionMetrics connection(ConnectionLabels labels) {
        ConnectionSeries s = series(labels);
        s.opened.inc();
        return new ConnectionMetrics(labels, s.sent, s.received);
    }

    public void closed(ConnectionLabels labels, String direction, CloseReason reason) {
        series(labels).closed(reason).inc();
        AtomicReferenceArray<CounterDataPoint> reasons = closeReasonPoints.get(direction);
        if (reasons == null) {
            closeReasonPoints.putIfAbsent(direction, new AtomicReferenceArray<>(CloseReason.values().length));
            reasons = closeReasonPoints.get(direction);
        }
        CounterDataPoint p = reasons.get(reason.ordinal());
        if (p == null) { // first close for this reason: its series appears now, as it did without the cache
            p = closeReasons.labelValues(direction, reason.name().toLowerCase(java.util.Locale.ROOT));
            reasons.set(reason.ordinal(), p);
        }
        p.inc();
    }

    /**
     * As many entries as the counters have series (label sets come from the mesh state, never from a peer's bytes;
     * the counters keep every series too). A get is lock-free; only a new label set takes a map bin's lock.
     */
    private ConnectionSeries series(ConnectionLabels labels) {
        ConnectionSeries s = series.get(labels);
        if (s == null) {
            s = new ConnectionSeries(labels, opened, sentBytes, receivedBytes, closed);
            ConnectionSeries raced = series.putIfAbsent(labels, s);
            if (raced != null) {
                s = raced;
            }
        }
        return s;
    }

    /** Byte counters of one connection. */
    public record ConnectionMetrics(ConnectionLabels labels, CounterDataPoint sent, CounterDataPoint received) {}
}
