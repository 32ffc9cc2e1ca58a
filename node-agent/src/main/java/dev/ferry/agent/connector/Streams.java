package dev.ferry.agent.connector;

import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;

/** What a socket's half-close is for any stream a connector opened (or a listener accepted). */
public final class Streams {
    private Streams() {}

    /**
     * Sends our end of stream: a FIN for a socket; for anything else the {@link EndOfStream} marker, which that
     * stream's adapter turns into its own end (HBONE: a DATA frame with END_STREAM).
     */
    public static void shutdownOutput(Channel ch) {
        if (ch instanceof DuplexChannel duplex) {
            duplex.shutdownOutput();
        } else {
            ch.writeAndFlush(EndOfStream.INSTANCE);
        }
    }
}
