package dev.ferry.agent.http;

import dev.ferry.agent.observability.RequestMetrics;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.Service;
import java.util.Objects;

/**
 * A client connection's last request series: the next request to the same Service and endpoint with the same code
 * and flags (the usual case on a keep-alive connection) reuses it, skipping the labels' string building and the
 * registry's lookups. One per connection, touched by its event loop only. The labels depend on nothing else a
 * request can change: the connection's source is fixed, and the endpoint fixes the destination workload and mTLS.
 */
final class SeriesCache {
    private Service service;
    private Endpoint endpoint;
    private int code = -1;
    private String flags;
    private String grpcStatus;
    private RequestMetrics.Series series;

    RequestMetrics.Series get(Service s, Endpoint e, int c, String g, String f) {
        if (series != null
                && c == code
                && s == service
                && Objects.equals(e, endpoint)
                && f.equals(flags)
                && g.equals(grpcStatus)) {
            return series;
        }
        return null;
    }

    void put(Service s, Endpoint e, int c, String g, String f, RequestMetrics.Series value) {
        grpcStatus = g;
        service = s;
        endpoint = e;
        code = c;
        flags = f;
        series = value;
    }
}
