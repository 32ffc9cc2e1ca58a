package dev.ferry.agent.http;

import io.netty.handler.codec.http.HttpObject;

/**
 * What an attempt sends its request on and hears its response from: a pooled HTTP/1.1 connection
 * ({@link ChannelUpstream}), or one stream of a shared HTTP/2 connection ({@link H2Upstream}). On the client
 * connection's event loop, which is the upstream's too.
 */
interface Upstream {
    /** From now on the response's parts and the upstream's events go to {@code e}. */
    void attach(UpstreamEvents e);

    /** Queues a request part; ownership passes. Sent on {@link #flush()}. */
    void write(HttpObject o);

    void flush();

    /** Asks for the next response parts (the client's pace sets the upstream's). */
    void read();

    /** Whether the upstream takes what is written: when false the exchange stops reading the request body. */
    boolean isWritable();

    /** The exchange is over: kept for another request when {@code reusable} (the HTTP/1.1 pool), else closed. */
    void release(boolean reusable);

    /** Dropped before its exchange was over (a timeout, a retry, the client gone): closed, or its stream reset. */
    void close();
}
