package dev.ferry.agent.connector;

import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.DuplexChannelConfig;
import io.netty.channel.unix.Socket;
import io.netty.channel.unix.UnixChannel;
import java.io.IOException;

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

    /**
     * {@link #shutdownOutput} for a relay side whose writes are all flushed (the caller waited for its last write)
     * and that will be written no more, because the other side has ended. A native socket gets its FIN from
     * shutdown(2) directly: Netty's shutdownOutput builds a ChannelOutputShutdownException with a stack trace on
     * every call, for writes that cannot be pending here — the largest single user-space cost of a short
     * connection in the profile (docs/profiling.md). The socket then stops half-closing: when its peer's FIN
     * arrives Netty closes it, instead of shutting down an input that the finished exchange already closed (which
     * fails with ENOTCONN, another exception per connection); the relay takes that close as the peer's end of stream.
     *
     * @return true when the stream will report its peer's end by closing, not by an input-shutdown event
     */
    public static boolean finishOutput(Channel ch) {
        if (ch instanceof UnixChannel unix
                && unix.fd() instanceof Socket socket
                && ch.config() instanceof DuplexChannelConfig config) {
            try {
                socket.shutdown(false, true);
            } catch (IOException e) {
                ch.pipeline().fireExceptionCaught(e);
                return false;
            }
            config.setAllowHalfClosure(false);
            return true;
        }
        shutdownOutput(ch);
        return false;
    }
}
