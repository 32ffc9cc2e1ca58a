package dev.ferry.agent.observability;

import dev.ferry.agent.connection.ConnectionLabels;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * Istio's standard HTTP metrics, under Istio's names, labels and buckets so its Grafana dashboards read them as they
 * are: {@code istio_requests_total}, {@code istio_request_duration_milliseconds}, {@code istio_request_bytes},
 * {@code istio_response_bytes}.
 */
public final class RequestMetrics {
    /** Istio's default duration buckets, in milliseconds. */
    static final double[] DURATION_BUCKETS = {
        0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000
    };
    /** Istio's default size buckets, in bytes: powers of ten up to 1 GB. */
    static final double[] SIZE_BUCKETS = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};

    static final String[] NAMES = names();

    private final Counter requests;
    private final Histogram duration;
    private final Histogram requestBytes;
    private final Histogram responseBytes;
    private final Counter retries;

    RequestMetrics(PrometheusRegistry registry) {
        requests = Counter.builder()
                .name("istio_requests_total")
                .help("Requests, by response code and flags")
                .labelNames(NAMES)
                .withoutExemplars()
                .register(registry);
        duration = Histogram.builder()
                .name("istio_request_duration_milliseconds")
                .help("Request duration, first byte in to last byte out")
                .labelNames(NAMES)
                .classicOnly()
                .classicUpperBounds(DURATION_BUCKETS)
                .withoutExemplars()
                .register(registry);
        requestBytes = Histogram.builder()
                .name("istio_request_bytes")
                .help("Request sizes (headers and body)")
                .labelNames(NAMES)
                .classicOnly()
                .classicUpperBounds(SIZE_BUCKETS)
                .withoutExemplars()
                .register(registry);
        responseBytes = Histogram.builder()
                .name("istio_response_bytes")
                .help("Response sizes (headers and body)")
                .labelNames(NAMES)
                .classicOnly()
                .classicUpperBounds(SIZE_BUCKETS)
                .withoutExemplars()
                .register(registry);
        retries = Counter.builder()
                .name("ferry_http_retries_total")
                .help("Retries of HTTP requests, by backend Service, what was retried and whether the retry budget"
                        + " allowed it (outcome retried or budget_exhausted)")
                .labelNames("destination_service", "reason", "outcome")
                .withoutExemplars()
                .register(registry);
    }

    private static String[] names() {
        String[] tcp = ConnectionLabels.NAMES;
        String[] out = new String[tcp.length + 2];
        System.arraycopy(tcp, 0, out, 0, tcp.length);
        out[tcp.length] = "response_code";
        out[tcp.length + 1] = "grpc_response_status";
        return out;
    }

    /**
     * One finished request.
     *
     * @param grpcStatus the {@code grpc-status} of a gRPC response, or empty
     */
    public void finished(
            ConnectionLabels labels,
            int code,
            String grpcStatus,
            String responseFlags,
            double durationMs,
            long requestSize,
            long responseSize) {
        series(labels, code, grpcStatus, responseFlags).observe(durationMs, requestSize, responseSize);
    }

    /**
     * The four series of one label set, looked up once: a keep-alive connection's requests mostly share their labels,
     * so the caller keeps the series and skips four lookups of fourteen label values per request.
     */
    public Series series(ConnectionLabels labels, int code, String grpcStatus, String responseFlags) {
        String[] tcp = labels.values(responseFlags);
        String[] v = new String[tcp.length + 2];
        System.arraycopy(tcp, 0, v, 0, tcp.length);
        v[tcp.length] = code == 0 ? "0" : Integer.toString(code);
        v[tcp.length + 1] = grpcStatus;
        return new Series(
                requests.labelValues(v),
                duration.labelValues(v),
                requestBytes.labelValues(v),
                responseBytes.labelValues(v));
    }

    /** One label set's request counter and histograms. */
    public record Series(
            CounterDataPoint requests,
            DistributionDataPoint duration,
            DistributionDataPoint requestBytes,
            DistributionDataPoint responseBytes) {
        public void observe(double durationMs, long requestSize, long responseSize) {
            requests.inc();
            duration.observe(durationMs);
            requestBytes.observe(requestSize);
            responseBytes.observe(responseSize);
        }
    }

    /**
     * A retry decided for a request to {@code destinationService}.
     *
     * @param reason {@code connect_failure}, {@code reset}, {@code timeout} or {@code status}
     * @param allowed false when the Service's retry budget refused it (the failure went to the client)
     */
    public void retry(String destinationService, String reason, boolean allowed) {
        retries.labelValues(destinationService, reason, allowed ? "retried" : "budget_exhausted")
                .inc();
    }
}
