package dev.ferry.agent.connector;

import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;

/**
 * Opens a byte stream to a target. Whatever carries it (a TCP socket, a CONNECT stream on a pooled mTLS HTTP/2
 * connection), the channel it completes with behaves as a socket for the layer above — the L4 relay or the HTTP
 * layer: {@code ByteBuf}s in and out, the peer's end of stream as a {@code ChannelInputShutdownEvent}, ours sent with
 * {@link Streams#shutdownOutput}, AUTO_READ off. A failure completes the future with a {@link ConnectFailure}
 * naming the close reason, so the mapping from transport errors to reasons lives with the transport.
 */
public interface Connector {
    /** Completes on {@code request.loop()}; the channel's pipeline ends in {@code request.handler()}. */
    Future<Channel> open(ConnectRequest request);

    /**
     * The SPIFFE IDs the stream will be authenticated between, or null when it is plaintext; known before opening,
     * so a connection's labels say {@code mutual_tls} from its first report.
     */
    Principals principals(ConnectRequest request);

    /** Source and destination SPIFFE IDs of an mTLS stream. */
    record Principals(String source, String destination) {}
}
