package dev.ferry.agent.http;

import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.RequestRecord;
import dev.ferry.agent.connection.Session;
import dev.ferry.agent.observability.RequestMetrics;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * The destination side's HTTP/2 client connection (plaintext or inside an HBONE stream) to a pod an L7 policy
 * selects: each stream's request is decided on its own ({@link InboundCall}) and, when allowed, sent as a stream of
 * the connection's one HTTP/2 connection to the app. Requests are counted with {@code reporter="destination"}.
 */
final class InboundStreams implements H2Requests.Server {
    private final HttpInbound http;
    private final Session session;
    private final H2Upstreams app;
    private final HttpInbound.Gate gate;

    private ConnectionLabels httpLabels;
    private ConnectionLabels grpcLabels;
    // each protocol's last request series: the next one with the same code, status and flags reuses it
    private final SeriesCache httpSeries = new SeriesCache();
    private final SeriesCache grpcSeries = new SeriesCache();

    InboundStreams(HttpInbound http, Session session, H2Upstreams app, HttpInbound.Gate gate) {
        this.http = http;
        this.session = session;
        this.app = app;
        this.gate = gate;
    }

    @Override
    public Session session() {
        return session;
    }

    /** The framing checks, and the path normalized as it is judged and as the app gets it. */
    @Override
    public RequestChecks.Refusal check(HttpRequest req) {
        return RequestChecks.checkAtTheDestination(req);
    }

    @Override
    public StreamCall call(H2Stream stream, HttpRequest req) {
        return new InboundCall(this, stream, req);
    }

    @Override
    public void refused(HttpResponseStatus status, int bytes) {
        series(false, status.code(), "", "DPE").observe(0, 0, bytes);
    }

    HttpInbound.Gate gate() {
        return gate;
    }

    H2Upstreams app() {
        return app;
    }

    HttpInbound http() {
        return http;
    }

    /** Whether {@link #log} goes anywhere: when not, the caller builds no record per request. */
    boolean logs() {
        return http.observer().wantsRequests();
    }

    void log(RequestRecord r) {
        http.observer().request(session.record(), r);
    }

    RequestMetrics.Series series(boolean grpc, int code, String grpcStatus, String flags) {
        SeriesCache cache = grpc ? grpcSeries : httpSeries;
        RequestMetrics.Series s = cache.get(null, null, code, grpcStatus, flags); // one workload: no service, endpoint
        if (s != null) {
            return s;
        }
        ConnectionLabels labels = grpc ? grpcLabels : httpLabels;
        if (labels == null) {
            labels = ConnectionLabels.of(session.record()).withProtocol(grpc ? "grpc" : "http");
            if (grpc) {
                grpcLabels = labels;
            } else {
                httpLabels = labels;
            }
        }
        s = http.metrics().series(labels, code, grpcStatus, flags);
        cache.put(null, null, code, grpcStatus, flags, s);
        return s;
    }
}
