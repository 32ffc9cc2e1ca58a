package dev.ferry.agent.connector;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
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
     * Runs {@code then} once everything written to {@code ch} so far has been handed to the kernel; not at all if a
     * write fails meanwhile. A socket with nothing queued runs it now: the empty write that otherwise marks the
     * spot is a zero-length send on io_uring (a submission, a completion and a promise; about one per short
     * connection in the churn trace, docs/profiling.md). Streams that are not sockets (HTTP/2 stream channels) show
     * no outbound buffer and always take the empty write.
     */
    public static void afterWrites(Channel ch, Runnable then) {
        if (nothingQueued(ch)) {
            then.run();
            return;
        }
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(new OnFlushed(then));
    }

    /** A record, not a lambda: made per connection, where a captured lambda is slow (docs/profiling.md). */
    private record OnFlushed(Runnable then) implements ChannelFutureListener {
        @Override
        public void operationComplete(ChannelFuture f) {
            if (f.isSuccess()) {
                then.run();
            }
        }
    }

    /**
     * Closes {@code ch} once what was written to it is flushed: at once when nothing is queued (see
     * {@link #afterWrites}), and not again when it is closed already — an empty write to a closed channel fails
     * with an exception built for nothing.
     */
    public static void closeAfterWrites(Channel ch) {
        if (!ch.isOpen()) {
            return;
        }
        if (nothingQueued(ch)) {
            ch.close();
        } else {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /**
     * True for a socket whose outbound buffer holds no message, flushed or not (every entry counts a fixed
     * overhead in the pending bytes, an empty one too). A buffer Netty dropped (output shut down) is not "nothing
     * queued": a write there fails, and so must the caller's wait.
     */
    private static boolean nothingQueued(Channel ch) {
        if (!(ch instanceof DuplexChannel)) {
            return false;
        }
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        return out != null && out.isEmpty() && out.totalPendingWriteBytes() == 0;
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
