package dev.ferry.agent.net;

import io.netty.handler.codec.http2.DefaultHttp2Connection;
import io.netty.handler.codec.http2.DefaultHttp2RemoteFlowController;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.UniformStreamByteDistributor;

/**
 * Netty's HTTP/2 codec builder for every HTTP/2 connection of the agent (HBONE's and the HTTP layer's), on a
 * connection whose send window is shared out among the streams in turn ({@link UniformStreamByteDistributor})
 * instead of by the priority tree Netty keeps by default (WeightedFairQueueByteDistributor): RFC 9113 deprecated
 * stream priorities, clients no longer send them (h2load, curl and browsers do not), and keeping the tree for each
 * stream was a tenth of the CPU per proxied HTTP/2 request (async-profiler).
 */
public final class Http2Builders {
    private Http2Builders() {}

    public static Http2FrameCodecBuilder forServer() {
        return new Builder(true);
    }

    public static Http2FrameCodecBuilder forClient() {
        return new Builder(false);
    }

    private static final class Builder extends Http2FrameCodecBuilder {
        Builder(boolean server) {
            DefaultHttp2Connection c = new DefaultHttp2Connection(server);
            c.remote().flowController(new DefaultHttp2RemoteFlowController(c, new UniformStreamByteDistributor(c)));
            connection(c);
            // what Netty's forServer()/forClient() set and this constructor does not: a close ends the connection
            // at once instead of waiting up to 30 s for its streams (HBONE's GOAWAY retry depends on it)
            gracefulShutdownTimeoutMillis(0);
        }
    }
}
