package dev.ferry.agent.http;

import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamFrame;

/**
 * A client's HTTP/2 connection: each stream it opens is an {@link H2Stream}, one request each, answered as frames on
 * this connection. The codec keeps the connection's limits (concurrent streams, header size, floods).
 */
final class H2Requests extends H2Streams<H2Stream> {
    private final HttpOutbound http;
    private final HttpConnection conn;
    private final HttpRouter router;
    /** The connection's last request series, shared by its streams (they mostly differ in nothing it keys on). */
    final SeriesCache series = new SeriesCache();

    H2Requests(HttpOutbound http, HttpConnection conn, HttpRouter router) {
        this.http = http;
        this.conn = conn;
        this.router = router;
    }

    /** A client's HEADERS on a new stream id: a request. */
    @Override
    protected H2Stream started(Http2StreamFrame f) {
        if (!(f instanceof Http2HeadersFrame)) {
            return null;
        }
        H2Stream s = new H2Stream(this, f.stream());
        register(s);
        return s;
    }

    HttpOutbound http() {
        return http;
    }

    HttpRouter router() {
        return router;
    }

    HttpConnection connection() {
        return conn;
    }
}
