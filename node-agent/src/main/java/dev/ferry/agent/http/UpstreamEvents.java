package dev.ferry.agent.http;

import io.netty.handler.codec.http.HttpObject;

/** What an upstream connection tells the request that holds it; called on that connection's event loop. */
interface UpstreamEvents {
    /** A response part; ownership passes to the callee. */
    void upstreamRead(HttpObject o);

    void upstreamReadComplete();

    void upstreamWritable();

    /** The connection closed or failed ({@code cause} null for a plain close). */
    void upstreamClosed(Throwable cause);
}
