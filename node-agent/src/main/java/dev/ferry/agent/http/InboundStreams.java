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
    // the connection's last request series: the next one with the same code, status and flags reuses it
    private RequestMetrics.Series last;
    private boolean lastGrpc;
    private int lastCode = -1;
    private String lastGrpcStatus;
    private String lastFlags;

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
        RequestChecks.Refusal refusal = RequestChecks.check(req);
        if (refusal != null) {
            return refusal;
        }
        String normalized = Paths.normalize(req.uri());
        if (normalized == null) {
            return new RequestChecks.Refusal(HttpResponseStatus.BAD_REQUEST, "bad percent-encoding in the path");
        }
        req.setUri(normalized);
        return null;
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

    void log(RequestRecord r) {
        http.observer().request(session.record(), r);
    }

    RequestMetrics.Series series(boolean grpc, int code, String grpcStatus, String flags) {
        if (last != null
                && grpc == lastGrpc
                && code == lastCode
                && grpcStatus.equals(lastGrpcStatus)
                && flags.equals(lastFlags)) {
            return last;
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
        last = http.metrics().series(labels, code, grpcStatus, flags);
        lastGrpc = grpc;
        lastCode = code;
        lastGrpcStatus = grpcStatus;
        lastFlags = flags;
        return last;
    }
}
