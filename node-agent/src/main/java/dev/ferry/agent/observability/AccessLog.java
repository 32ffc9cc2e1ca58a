package dev.ferry.agent.observability;

import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionObserver;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Delivery;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.connection.RequestRecord;
import dev.ferry.mesh.Workload;
import dev.ferry.time.Ticker;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * One JSON line per connection at close, on the {@code ferry.access} logger (Logback writes it asynchronously so the
 * event loop never waits on stdout).
 */
public final class AccessLog implements ConnectionObserver {
    private static final Logger access = LoggerFactory.getLogger("ferry.access");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Ticker ticker;
    private final boolean enabled;

    public AccessLog(Ticker ticker, boolean enabled) {
        this.ticker = ticker;
        this.enabled = enabled;
    }

    @Override
    public void closed(ConnectionRecord r) {
        if (enabled && access.isInfoEnabled()) {
            access.info(line(r, ticker.nanoTime()));
        }
    }

    @Override
    public boolean wantsRequests() {
        return enabled && access.isInfoEnabled();
    }

    @Override
    public void request(ConnectionRecord c, RequestRecord r) {
        if (wantsRequests()) {
            access.info(requestLine(c, r));
        }
    }

    /** One line per HTTP request: Envoy's fields under their usual names, plus the connection's id and identities. */
    static String requestLine(ConnectionRecord c, RequestRecord r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("start_time", r.start().toString());
        m.put("connection_id", c.id());
        m.put("direction", c.direction().label());
        m.put("method", r.method());
        m.put("path", r.path());
        m.put("authority", r.authority());
        m.put("protocol", r.protocol());
        m.put("response_code", r.responseCode());
        m.put("response_flags", r.responseFlags());
        m.put("duration", r.durationMs());
        m.put(
                "upstream_host",
                r.upstreamHost() == null
                        ? null
                        : r.upstreamHost().getAddress().getHostAddress() + ":"
                                + r.upstreamHost().getPort());
        m.put("route_name", r.route());
        m.put("attempts", r.attempts());
        m.put("x_request_id", r.requestId());
        m.put("bytes_received", r.requestBytes());
        m.put("bytes_sent", r.responseBytes());
        m.put("src.addr", addr(c.source()));
        Workload src = c.sourceWorkload();
        m.put("src.workload", src == null ? null : src.name());
        m.put("src.namespace", src == null ? null : src.namespace());
        m.put("src.identity", unknownToNull(c.sourcePrincipal()));
        return JSON.writeValueAsString(m);
    }

    static String line(ConnectionRecord r, long nowNanos) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("start_time", r.started().toString());
        m.put("id", r.id());
        m.put("direction", r.direction().label());
        m.put("src.addr", addr(r.source()));
        Workload src = r.sourceWorkload();
        m.put("src.workload", src == null ? null : src.name());
        m.put("src.namespace", src == null ? null : src.namespace());
        m.put("src.identity", unknownToNull(r.sourcePrincipal()));
        m.put("dst.addr", addr(r.originalDestination()));
        Delivery d = r.delivery();
        String service = d == null ? null : d.serviceKey();
        Workload dst = d == null ? null : d.workload();
        InetSocketAddress upstream = d == null ? null : d.address();
        m.put("dst.service", service);
        m.put("dst.workload", dst == null ? null : dst.name());
        m.put("dst.namespace", dst == null ? null : dst.namespace());
        m.put("dst.identity", unknownToNull(r.destinationPrincipal()));
        if (upstream != null && r.direction() == Direction.OUTBOUND && r.mutualTls()) {
            // through an HBONE tunnel the socket goes to the pod's 15008; the app port is in dst.addr
            upstream = new InetSocketAddress(upstream.getAddress(), dev.ferry.agent.net.MeshPorts.HBONE);
        }
        m.put("upstream.addr", addr(upstream));
        m.put("bytes_sent", r.bytesSent());
        m.put("bytes_recv", r.bytesReceived());
        m.put("duration_ms", (nowNanos - r.startedNanos()) / 1_000_000);
        m.put("authz.decision", r.policyDecision());
        m.put("authz.policy", r.policy().isEmpty() ? null : r.policy());
        m.put("response_flags", r.closeReason() == null ? "-" : r.closeReason().responseFlag());
        m.put(
                "close_reason",
                r.closeReason() == null ? null : r.closeReason().name().toLowerCase(java.util.Locale.ROOT));
        m.put(
                "error",
                r.closeReason() == null || !r.closeReason().isError()
                        ? null
                        : r.closeReason().description() + (r.closeDetail().isEmpty() ? "" : ": " + r.closeDetail()));
        return JSON.writeValueAsString(m);
    }

    private static String addr(InetSocketAddress a) {
        return a == null ? null : a.getAddress().getHostAddress() + ":" + a.getPort();
    }

    private static String unknownToNull(String s) {
        return ConnectionLabels.UNKNOWN.equals(s) ? null : s;
    }
}
