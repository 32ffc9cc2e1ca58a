package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.net.SocketQueues;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.epoll.AbstractEpollStreamChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Zero-copy relay for epoll: {@code splice(2)} socket → pipe → socket in the kernel, both ways. Bytes bypass the
 * pipeline, so:
 *
 * <ul>
 *   <li>accounting samples {@code tcpi_bytes_received} of each socket every second, at FIN and before an abort
 *       (the idle clock follows from those samples);
 *   <li>a FIN is passed on only once the source's receive queue and the pipe are drained: Netty reports the
 *       peer's FIN (EPOLLRDHUP) as soon as it arrives, possibly before the last bytes were spliced, and its splice
 *       path never reports end-of-stream itself.
 * </ul>
 *
 * Cost: a pipe (two fds) per direction, so a spliced connection holds six fds instead of two.
 */
final class SpliceRelay {
    /** How often spliced byte counts reach the metrics; also the idle timer's resolution in splice mode. */
    private static final long SAMPLE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private static final long MAX_FIN_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private final RelaySession session;
    private final AbstractEpollStreamChannel down;
    private final AbstractEpollStreamChannel up;
    private long downSeen;
    private long upSeen;

    private SpliceRelay(RelaySession session, AbstractEpollStreamChannel down, AbstractEpollStreamChannel up) {
        this.session = session;
        this.down = down;
        this.up = up;
    }

    /**
     * Starts splicing both ways.
     *
     * @param alreadyCountedFromDown early bytes the copy path already relayed and counted
     * @param downstreamEof the downstream sent FIN before the upstream connected: nothing left to splice from it
     */
    static SpliceRelay start(
            RelaySession session, Channel down, Channel up, long alreadyCountedFromDown, boolean downstreamEof) {
        SpliceRelay relay =
                new SpliceRelay(session, (AbstractEpollStreamChannel) down, (AbstractEpollStreamChannel) up);
        relay.downSeen = alreadyCountedFromDown; // the kernel counted those too; they are not new
        ChannelFutureListener onFailure = f -> {
            if (!f.isSuccess() && !f.isCancelled()) {
                session.abort(CloseReason.INTERNAL_ERROR, "splice failed: " + f.cause());
            }
        };
        // Netty's splice toggles auto-read itself for back-pressure while the target is not writable.
        if (!downstreamEof) {
            relay.down.spliceTo(relay.up, Integer.MAX_VALUE).addListener(onFailure);
            down.config().setAutoRead(true);
        }
        relay.up.spliceTo(relay.down, Integer.MAX_VALUE).addListener(onFailure);
        up.config().setAutoRead(true);
        ScheduledFuture<?> sampler =
                down.eventLoop().scheduleAtFixedRate(relay::sample, SAMPLE_NANOS, SAMPLE_NANOS, TimeUnit.NANOSECONDS);
        down.closeFuture().addListener(f -> sampler.cancel(false));
        return relay;
    }

    /** Moves the kernel's byte counts since the last sample into the session (metrics, registry, idle clock). */
    void sample() {
        long d = down.isOpen() ? SocketQueues.bytesReceived(down.fd().intValue()) : -1;
        long u = up.isOpen() ? SocketQueues.bytesReceived(up.fd().intValue()) : -1;
        if (d > downSeen) {
            session.bytes(down, d - downSeen);
            downSeen = d;
        }
        if (u > upSeen) {
            session.bytes(up, u - upSeen);
            upSeen = u;
        }
    }

    /**
     * Whether everything {@code from} received has reached the peer's socket: nothing unread in {@code from}'s
     * receive queue and no splice-out pending on the peer.
     */
    boolean drained(Channel from) {
        AbstractEpollStreamChannel src = from == down ? down : up;
        AbstractEpollStreamChannel dst = from == down ? up : down;
        if (!src.isOpen() || !dst.isOpen()) {
            return true;
        }
        ChannelOutboundBuffer pending = dst.unsafe().outboundBuffer();
        return SocketQueues.unread(src.fd().intValue()) <= 0 && (pending == null || pending.isEmpty());
    }

    /** Re-check delay for a FIN waiting on {@link #drained}: doubling from 1 ms, at most 50 ms. */
    static long nextRecheckNanos(long previous) {
        return Math.min(MAX_FIN_RECHECK_NANOS, previous <= 0 ? TimeUnit.MILLISECONDS.toNanos(1) : previous * 2);
    }
}
