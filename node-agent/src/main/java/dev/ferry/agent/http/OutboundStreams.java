package dev.ferry.agent.http;

import dev.ferry.agent.connection.Session;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;

/** The source side's HTTP/2 client connection: each stream's request is an {@link Exchange}, routed on its own. */
final class OutboundStreams implements H2Requests.Server {
    private final HttpOutbound http;
    private final HttpConnection conn;
    private final HttpRouter router;
    /** The connection's last request series, shared by its streams (they mostly differ in nothing it keys on). */
    private final SeriesCache series = new SeriesCache();

    OutboundStreams(HttpOutbound http, HttpConnection conn, HttpRouter router) {
        this.http = http;
        this.conn = conn;
        this.router = router;
    }

    @Override
    public Session session() {
        return conn.session();
    }

    @Override
    public RequestChecks.Refusal check(HttpRequest req) {
        return RequestChecks.check(req);
    }

    @Override
    public StreamCall call(H2Stream stream, HttpRequest req) {
        return Exchange.of(http, conn.onStream(stream), router, stream, stream, series, req);
    }

    @Override
    public void refused(HttpResponseStatus status, int bytes) {
        HttpOutboundHandler.countRefused(http, conn, status, bytes);
    }
}
