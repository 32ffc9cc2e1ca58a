package dev.ferry.agent.http;

import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;

/**
 * Where an exchange's answer goes and whence its request body comes: a client's HTTP/1.1 connection
 * ({@link ChannelDownstream}), or one stream of a client's HTTP/2 connection ({@link H2Stream}). On the client
 * connection's event loop only.
 */
interface Downstream {
    EventLoop loop();

    /** Queues a response part for the client; ownership passes. Sent on {@link #flush()}. */
    void write(HttpObject o);

    void flush();

    /** Asks for the next request parts (reads are on request: the upstream's pace sets the client's). */
    void read();

    /** Whether the client takes what is written: when false the exchange stops reading the response. */
    boolean isWritable();
}
