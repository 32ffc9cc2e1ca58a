package dev.ferry.agent.http;

import io.netty.handler.codec.http.HttpContent;

/**
 * What serves one request of a client's HTTP/2 connection, as its {@link H2Stream} sees it: on the source side an
 * {@link Exchange} (routed, balanced, retried), on the destination side an {@link InboundCall} (decided by policy,
 * passed to the app). The stream keeps the call before starting it, since a call may be over before
 * {@link #start()} returns. On the connection's event loop only.
 */
interface StreamCall {
    /** Serves the request: answers it or sends it on. */
    void start();

    /** A part of the request body, read from the client; ownership passes here. */
    void requestContent(HttpContent c);

    /** The client's read burst is over. */
    void downstreamReadComplete();

    /** The client can take more of the answer. */
    void downstreamWritable();

    /** The client went away (reset its stream, or its connection closed). */
    void downstreamClosed();

    /** The request is fully read. */
    boolean requestDone();
}
