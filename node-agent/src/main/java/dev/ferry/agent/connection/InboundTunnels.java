package dev.ferry.agent.connection;

/** Where a tunnel server hands its requests: the proxy's inbound path. Called on the stream's event loop. */
@FunctionalInterface
public interface InboundTunnels {
    void accept(InboundTunnel tunnel);
}
