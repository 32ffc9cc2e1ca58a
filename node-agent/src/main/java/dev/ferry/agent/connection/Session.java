package dev.ferry.agent.connection;

import io.netty.channel.Channel;

/**
 * A captured connection as the layers above the connection core see it: its record, its downstream channel, byte
 * accounting (which also moves its idle timer) and its one end. Implemented by the proxy's session; used by the
 * HTTP layer, which sends one connection's requests to many upstreams.
 */
public interface Session {
    ConnectionRecord record();

    Channel downstream();

    /** Request-direction bytes (downstream to upstream), as Istio's {@code received}. */
    void received(long n);

    /** Response-direction bytes (upstream to downstream), as Istio's {@code sent}. */
    void sent(long n);

    /** Ends the connection now, for {@code reason}; the first reason wins. */
    void abort(CloseReason reason, String detail);
}
