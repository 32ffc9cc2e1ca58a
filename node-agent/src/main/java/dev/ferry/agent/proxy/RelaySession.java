package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Session;
import dev.ferry.agent.connector.Streams;
import dev.ferry.agent.observability.Metrics;
import dev.ferry.agent.routing.EndpointLoad;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.socket.DuplexChannel;
import java.util.concurrent.TimeUnit;

/**
 * One relayed connection: the downstream (accepted) and upstream channels, both on the same event loop, so all
 * state here is touched by one thread and needs no locking. Owns the timers (idle, half-close linger) and the
 * single end-of-connection report.
 *
 * <p>The session is itself the listener of its channels' close and its idle check's task: a lambda captured per
 * connection is allocated through uninlined method handles under the agent's no-trap C2 flag (deploy/jvm.options):
 * ~10 % of the event loop's user time under churn. The per-connection callbacks elsewhere are records for the same
 * reason (docs/profiling.md, "Churn's user time").
 */
final class RelaySession implements Session, ChannelFutureListener, Runnable {
    private final RelayContext ctx;
    private final ConnectionRecord record;
    private final Channel downstream;
    private Channel upstream;
    private Metrics.ConnectionMetrics metrics;
    private boolean admitted;
    private boolean downstreamEof;
    private boolean upstreamEof;
    // Sides whose output we ended and that now report their peer's FIN by closing (see Streams#finishOutput).
    private boolean downstreamClosesOnEof;
    private boolean upstreamClosesOnEof;
    private boolean reported;
    /** Set once the upstream socket has TCP keepalive, at the first idle check (SocketFactory#forRelay). */
    private boolean upstreamKeepalive;

    private long lastActivity;
    private java.util.concurrent.Future<?> idleTask;
    private java.util.concurrent.Future<?> lingerTask;
    private SpliceRelay splice;
    private io.netty.util.concurrent.Future<?> connecting;
    private long finRecheckNanos;
    private EndpointLoad load;

    RelaySession(RelayContext ctx, ConnectionRecord record, Channel downstream) {
        this.ctx = ctx;
        this.record = record;
        this.downstream = downstream;
        this.lastActivity = ctx.ticker().nanoTime();
        downstream.closeFuture().addListener(this);
    }

    /** One of the two channels closed. */
    @Override
    public void operationComplete(ChannelFuture closed) {
        if (closed.channel() == downstream && load != null) {
            load.released(); // the client's side is what a connection's load counts
            load = null;
        }
        maybeReport();
    }

    /** The idle check, run by the session's timer. */
    @Override
    public void run() {
        checkIdle();
    }

    /** Counts this connection on its endpoint's load until the downstream closes. */
    void countOn(EndpointLoad endpointLoad) {
        endpointLoad.started();
        if (!downstream.isOpen()) {
            endpointLoad.released();
            return;
        }
        load = endpointLoad;
    }

    RelayContext context() {
        return ctx;
    }

    @Override
    public ConnectionRecord record() {
        return record;
    }

    @Override
    public Channel downstream() {
        return downstream;
    }

    void admitted() {
        admitted = true;
        long first =
                Math.min(ctx.idleTimeout().toNanos(), ctx.firstByteTimeout().toNanos());
        idleTask = ctx.timers().schedule(downstream.eventLoop(), this, first);
    }

    /** Counts the connection as opened under these labels; before this, byte counts go nowhere. */
    void open(ConnectionLabels labels) {
        record.labels(labels);
        metrics = ctx.metrics().connection(labels);
    }

    /** The upstream being opened: cancelled if the connection ends first, so no socket is left behind. */
    void connecting(io.netty.util.concurrent.Future<?> opening) {
        connecting = opening;
    }

    void upstream(Channel ch) {
        upstream = ch;
        ch.closeFuture().addListener(this);
    }

    Channel upstream() {
        return upstream;
    }

    Channel peerOf(Channel ch) {
        return ch == downstream ? upstream : downstream;
    }

    /** Switches this connection to the splice relay (bytes bypass the handlers). */
    void splice(SpliceRelay relay) {
        splice = relay;
    }

    private void sample() {
        if (splice != null) {
            splice.sample();
        }
    }

    void bytes(Channel from, long n) {
        if (from == downstream) {
            received(n);
        } else {
            sent(n);
        }
    }

    @Override
    public void received(long n) {
        lastActivity = ctx.ticker().nanoTime();
        record.addReceived(n);
        metrics.received().inc(n);
    }

    @Override
    public void sent(long n) {
        lastActivity = ctx.ticker().nanoTime();
        record.addSent(n);
        metrics.sent().inc(n);
    }

    /** {@code from} sent FIN: pass it on once what we queued for the peer is flushed (half-close). */
    void eof(Channel from) {
        if (splice != null) {
            sample();
            if (!splice.drained(from)) {
                // The FIN overtook bytes still in the socket or the pipe: pass it on once they are through.
                finRecheckNanos = SpliceRelay.nextRecheckNanos(finRecheckNanos);
                from.eventLoop().schedule(() -> eof(from), finRecheckNanos, TimeUnit.NANOSECONDS);
                return;
            }
            finRecheckNanos = 0;
        }
        if (from == downstream) {
            downstreamEof = true;
        } else {
            upstreamEof = true;
        }
        Channel peer = peerOf(from);
        // Both ended: a socket gets its FIN from the close below; a tunnel still needs its END_STREAM first.
        boolean closing = downstreamEof && upstreamEof && peer instanceof DuplexChannel;
        if (peer != null && peer.isActive() && !closing) {
            Streams.afterWrites(peer, new FinishOutput(peer));
        }
        if (downstreamEof && upstreamEof) {
            end(CloseReason.NORMAL, "");
        } else if (lingerTask == null && !reported) {
            // The other direction may stay open (half-close), but not forever: no CLOSE_WAIT pile-up.
            lingerTask = ctx.timers()
                    .schedule(
                            downstream.eventLoop(),
                            new Linger(),
                            ctx.halfCloseTimeout().toNanos());
        }
    }

    /** Passes a FIN on to {@code peer} once what was queued for it is flushed. */
    private final class FinishOutput implements Runnable {
        private final Channel peer;

        FinishOutput(Channel peer) {
            this.peer = peer;
        }

        @Override
        public void run() {
            if (splice != null) {
                Streams.shutdownOutput(peer); // the pipe may still hold bytes for it: Netty's own half-close
            } else if (Streams.finishOutput(peer)) { // a socket's FIN, a tunnel's END_STREAM
                closesOnEof(peer);
            }
        }
    }

    /** The half-close linger: the side still open had its time. */
    private final class Linger implements Runnable {
        @Override
        public void run() {
            abort(
                    CloseReason.HALF_CLOSE_TIMEOUT,
                    "other side did not finish within " + ctx.halfCloseTimeout().toMillis() + " ms");
        }
    }

    private void closesOnEof(Channel ch) {
        if (ch == downstream) {
            downstreamClosesOnEof = true;
        } else {
            upstreamClosesOnEof = true;
        }
    }

    /**
     * A socket closed. After we ended its output it closes on its peer's FIN (an error would have aborted first):
     * that is its end of stream. Otherwise it went away without a FIN exchange.
     */
    void inactive(Channel ch) {
        if (downstreamEof && upstreamEof) {
            return;
        }
        if (ch == downstream ? downstreamClosesOnEof : upstreamClosesOnEof) {
            eof(ch);
            return;
        }
        abort(ch == downstream ? CloseReason.DOWNSTREAM_ABORT : CloseReason.UPSTREAM_ABORT, "");
    }

    /** Ends the connection now; queued bytes are dropped. First reason wins. */
    @Override
    public void abort(CloseReason reason, String detail) {
        sample();
        record.close(reason, detail);
        downstream.close();
        if (connecting != null) {
            connecting.cancel(false);
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    /** Refuses or cuts the connection for policy: a TCP reset to both sides (SO_LINGER 0), not a FIN. */
    void deny(String detail) {
        resetOnClose(downstream);
        if (upstream != null) {
            resetOnClose(upstream);
        }
        abort(CloseReason.DENIED, detail);
    }

    void denyFromAnyThread(String detail) {
        downstream.eventLoop().execute(() -> deny(detail));
    }

    private static void resetOnClose(io.netty.channel.Channel ch) {
        if (ch.isOpen()) {
            try {
                ch.config().setOption(io.netty.channel.ChannelOption.SO_LINGER, 0);
            } catch (RuntimeException e) {
                // not a TCP socket (tests): a plain close is all there is
            }
        }
    }

    void abortFromAnyThread(CloseReason reason, String detail) {
        downstream.eventLoop().execute(() -> abort(reason, detail));
    }

    /**
     * Ends the connection after flushing what is queued on both sides. Called only from {@link #eof} once both sides
     * ended, so the first side's half-close linger is already running and bounds the flush: the close reason is
     * recorded here first, and a linger that fires later cannot change it.
     */
    private void end(CloseReason reason, String detail) {
        sample();
        record.close(reason, detail);
        Streams.closeAfterWrites(downstream);
        if (upstream != null) {
            Streams.closeAfterWrites(upstream);
        }
    }

    private void checkIdle() {
        if (reported) {
            return;
        }
        sample(); // first: with splice, bytes are only learned of by sampling, and they move lastActivity
        if (!upstreamKeepalive && upstream != null) {
            upstreamKeepalive = true;
            ctx.sockets().keepalive(upstream);
        }
        long idle = ctx.idleTimeout().toNanos();
        long now = ctx.ticker().nanoTime();
        long quiet = now - lastActivity;
        if (record.bytesSent() == 0 && record.bytesReceived() == 0) {
            long first = ctx.firstByteTimeout().toNanos();
            long age = now - record.startedNanos();
            if (age >= first) {
                abort(
                        CloseReason.IDLE_TIMEOUT,
                        "no byte either way " + ctx.firstByteTimeout().toMillis() + " ms after opening");
                return;
            }
            idleTask = ctx.timers()
                    .schedule(downstream.eventLoop(), this, Math.min(first - age, Math.max(0, idle - quiet)));
            return;
        }
        if (quiet >= idle) {
            abort(CloseReason.IDLE_TIMEOUT, "no bytes for " + ctx.idleTimeout().toMillis() + " ms");
        } else {
            idleTask = ctx.timers().schedule(downstream.eventLoop(), this, idle - quiet);
        }
    }

    private void maybeReport() {
        if (reported || downstream.isOpen() || (upstream != null && upstream.isOpen())) {
            return;
        }
        reported = true;
        if (idleTask != null) {
            idleTask.cancel(false);
        }
        if (lingerTask != null) {
            lingerTask.cancel(false);
        }
        if (admitted) {
            ctx.registry().remove(this);
        }
        record.close(CloseReason.INTERNAL_ERROR, "closed without a recorded reason");
        if (metrics == null) {
            open(ConnectionLabels.base(record));
        }
        ctx.metrics().closed(record.labels(), record.direction().label(), record.closeReason());
        ctx.observer().closed(record);
    }
}
