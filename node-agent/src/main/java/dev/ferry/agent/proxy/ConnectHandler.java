package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.net.OriginalDestination.OriginalDestinationException;
import dev.ferry.agent.routing.Destination;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of an accepted connection: admits it under the caps, recovers the original destination, resolves
 * where it goes, connects upstream on the same event loop, then replaces itself with the relay. Nothing is read
 * from the client until the upstream is connected (AUTO_READ is off), so no bytes are buffered here.
 */
final class ConnectHandler extends ChannelInboundHandlerAdapter {
    private static final Logger AUDIT = LoggerFactory.getLogger("ferry.authz");
    private static final Logger log = LoggerFactory.getLogger(ConnectHandler.class);
    /** Early bytes kept while connecting; one RDHUP read is at most a receive buffer, far below this. */
    private static final int MAX_EARLY_BYTES = 1 << 20;

    private final RelayContext ctx;
    private final Direction direction;
    private final String listener;
    private final Workload owner;
    /** Bytes read before the upstream connected (RDHUP only); owned here until replayed or released. */
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>(2);

    private RelaySession session;
    private long pendingBytes;
    private boolean pendingEof;

    ConnectHandler(RelayContext ctx, Direction direction, String listener, Workload owner) {
        this.ctx = ctx;
        this.direction = direction;
        this.listener = listener;
        this.owner = owner;
    }

    @Override
    public void channelActive(ChannelHandlerContext chc) {
        Channel down = chc.channel();
        ConnectionRecord record = new ConnectionRecord(
                ctx.ids().incrementAndGet(),
                direction,
                listener,
                (InetSocketAddress) down.remoteAddress(),
                // An outbound listener's owner is the source; an inbound one's owner is the destination, and the
                // source is only known from its certificate (mTLS) or not at all (plaintext).
                direction == Direction.OUTBOUND ? owner : null,
                ctx.ticker().wallClock().instant(),
                ctx.ticker().nanoTime());
        RelaySession session = new RelaySession(ctx, record, down);
        this.session = session;

        String refusal = ctx.registry().admit(session, direction == Direction.INBOUND ? owner : null);
        if (refusal != null) {
            session.open(ConnectionLabels.base(record));
            session.abort(CloseReason.OVERFLOW, refusal);
            return;
        }
        session.admitted();

        InetSocketAddress original;
        try {
            original = ctx.originalDestination().of(down);
        } catch (OriginalDestinationException e) {
            session.open(ConnectionLabels.base(record));
            session.abort(
                    e.peerGone() || !down.isActive() ? CloseReason.DOWNSTREAM_ABORT : CloseReason.NO_ROUTE,
                    e.getMessage());
            return;
        }
        record.originalDestination(original);
        MeshSnapshot snapshot = ctx.snapshot().get();
        Destination dest = direction == Direction.OUTBOUND
                ? ctx.resolver().outbound(snapshot, original)
                : ctx.resolver().inbound(snapshot, original);
        record.delivery(dest.delivery(ctx.clusterDomain()));
        Workload tunnelTo = tunnelTarget(dest);
        if (tunnelTo != null) { // known before the labels: the metrics say mutual_tls with both principals
            record.tunnel(
                    owner.identity(ctx.hbone().trustDomain()).uri(),
                    tunnelTo.identity(ctx.hbone().trustDomain()).uri());
        }
        session.open(ConnectionLabels.of(record));

        if (direction == Direction.INBOUND
                && dest instanceof Destination.ToWorkload w
                && !authorize(record, w.workload(), original)) {
            return;
        }

        InetSocketAddress target = switch (dest) {
            case Destination.ToService s -> s.endpoint().address();
            case Destination.ToWorkload w -> w.address();
            case Destination.Passthrough p -> p.address();
            case Destination.Refused r -> {
                session.abort(r.reason(), r.detail());
                yield null;
            }
        };
        if (target == null) {
            return;
        }
        if (tunnelTo != null) {
            tunnel(chc, record, tunnelTo, target);
            return;
        }
        // Inbound delivery keeps the client's IP as the source the app sees (when the factory can: in a pod).
        ChannelFuture connect = direction == Direction.INBOUND
                ? ctx.sockets()
                        .connectAs(
                                down.eventLoop(),
                                target,
                                (InetSocketAddress) down.remoteAddress(),
                                new RelayHandler(session))
                : ctx.sockets().connect(down.eventLoop(), target, new RelayHandler(session));
        session.upstream(connect.channel());
        connect.addListener(f -> {
            if (f.isSuccess()) {
                startRelay(chc, connect.channel());
            } else {
                Throwable cause = f.cause();
                CloseReason reason = cause instanceof ConnectTimeoutException
                        ? CloseReason.CONNECT_TIMEOUT
                        : CloseReason.CONNECT_REFUSED;
                log.debug("connection {} to {} failed: {}", record.id(), target, String.valueOf(cause));
                session.abort(reason, target + ": " + cause.getMessage());
            }
        });
    }

    /**
     * Checks the inbound connection against the policies of its destination workload. The source is the TCP peer
     * only (plaintext: no principal, no namespace — never taken from anything the client says).
     *
     * @return false when denied (the connection is reset)
     */
    private boolean authorize(ConnectionRecord record, Workload workload, InetSocketAddress original) {
        AuthzContext context = AuthzContext.plaintext(
                record.source().getAddress(), workload.namespace(), workload.labels(), original.getPort());
        Decision decision = ctx.authz().get().check(context);
        record.authorized(context, decision);
        ctx.metrics().authzDecision(decision.allowed(), decision.policy());
        for (String audit : decision.audited()) {
            AUDIT.info(
                    "connection {} from {} to {}/{}:{} matched AUDIT policy {}",
                    record.id(),
                    record.source(),
                    workload.namespace(),
                    workload.name(),
                    original.getPort(),
                    audit);
        }
        if (!decision.allowed()) {
            session.deny(decision.reason());
            return false;
        }
        return true;
    }

    /** The mesh workload to tunnel to over HBONE, or null when this connection goes in plaintext. */
    private Workload tunnelTarget(Destination dest) {
        if (direction != Direction.OUTBOUND || ctx.hbone() == null || owner == null) {
            return null;
        }
        Workload w = switch (dest) {
            case Destination.ToService s -> s.endpoint().workload();
            case Destination.ToWorkload t -> t.workload();
            default -> null;
        };
        return w != null && w.inMesh() ? w : null;
    }

    /**
     * A mesh destination from a meshed pod: the bytes go through an HBONE tunnel (mTLS as the source workload, to the
     * destination pod's 15008, which must present the destination's identity), never in plaintext.
     */
    private void tunnel(
            ChannelHandlerContext chc, ConnectionRecord record, Workload destination, InetSocketAddress target) {
        Channel down = chc.channel();
        var source = ctx.hbone().certificates().apply(owner.identity(ctx.hbone().trustDomain()));
        if (source.isEmpty()) {
            session.abort(CloseReason.TLS_FAILURE, owner.key() + " has no certificate yet");
            return;
        }
        var expected = destination.identity(ctx.hbone().trustDomain());
        ctx.hbone()
                .client()
                .open(
                        ctx.sockets(),
                        down.eventLoop(),
                        source.get(),
                        // the pod's own address, as the redirected connection came from it (the listener's owner
                        // record may predate the control plane learning the pod's IP)
                        record.source().getAddress(),
                        expected,
                        new InetSocketAddress(target.getAddress(), dev.ferry.agent.hbone.HboneServer.HBONE_PORT),
                        authority(target))
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        CloseReason reason = f.cause() instanceof dev.ferry.agent.hbone.HboneClient.HboneException h
                                ? switch (h.kind()) {
                                    case TLS -> CloseReason.TLS_FAILURE;
                                    case IDENTITY -> CloseReason.IDENTITY_ERROR;
                                    case DENIED -> CloseReason.DENIED;
                                    case REFUSED -> CloseReason.CONNECT_REFUSED;
                                }
                                : CloseReason.CONNECT_REFUSED;
                        session.abort(
                                reason, "HBONE to " + target + ": " + f.cause().getMessage());
                        return;
                    }
                    var stream = (io.netty.handler.codec.http2.Http2StreamChannel) f.getNow();
                    session.upstream(stream);
                    stream.pipeline().addLast("frames", new dev.ferry.agent.hbone.StreamFrameAdapter());
                    stream.pipeline().addLast("relay", new RelayHandler(session));
                    startRelay(chc, stream);
                });
    }

    private static String authority(InetSocketAddress target) {
        String host = target.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + target.getPort();
    }

    /** Upstream connected: hand over to the relay, replaying what arrived early (bytes, then FIN). */
    private void startRelay(ChannelHandlerContext chc, Channel up) {
        Channel down = chc.channel();
        if (!down.isActive()) {
            session.abort(CloseReason.DOWNSTREAM_ABORT, "downstream closed while connecting");
            return;
        }
        // Take the early bytes out first: replace() calls handlerRemoved, which releases whatever is still pending.
        List<ByteBuf> early = new ArrayList<>(pending);
        pending.clear();
        pendingBytes = 0;
        down.pipeline().replace(this, "relay", new RelayHandler(session));
        long earlyBytes = 0;
        for (ByteBuf b : early) {
            earlyBytes += b.readableBytes();
            session.bytes(down, b.readableBytes());
            up.write(b, up.voidPromise());
        }
        up.flush();
        if (ctx.splice() && !(up instanceof io.netty.handler.codec.http2.Http2StreamChannel)) {
            session.splice(SpliceRelay.start(session, down, up, earlyBytes, pendingEof));
            if (pendingEof) {
                session.eof(down);
            }
            return;
        }
        if (pendingEof) {
            session.eof(down);
        } else {
            down.read();
        }
        up.read();
    }

    /**
     * With AUTO_READ off nothing is read before the upstream connects, except that epoll and io_uring read what is
     * pending when the peer half-closes (RDHUP). Keep those bytes (bounded) and the FIN, and replay them.
     */
    @Override
    public void channelRead(ChannelHandlerContext chc, Object msg) {
        if (!(msg instanceof ByteBuf buf) || session == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        pendingBytes += buf.readableBytes();
        pending.add(buf);
        if (pendingBytes > MAX_EARLY_BYTES) {
            session.abort(CloseReason.DOWNSTREAM_ABORT, "over " + MAX_EARLY_BYTES + " bytes before upstream connected");
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext chc, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            pendingEof = true;
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext chc) {
        if (session != null) {
            session.inactive(chc.channel());
        }
        releasePending();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext chc, Throwable cause) {
        if (session != null) {
            session.abort(CloseReason.DOWNSTREAM_ABORT, cause.getClass().getSimpleName() + ": " + cause.getMessage());
        } else {
            chc.close();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext chc) {
        releasePending();
    }

    private void releasePending() {
        ByteBuf b;
        while ((b = pending.poll()) != null) {
            b.release();
        }
        pendingBytes = 0;
    }
}
