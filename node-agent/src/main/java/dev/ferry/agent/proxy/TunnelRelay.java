package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.hbone.StreamFrameAdapter;
import dev.ferry.agent.routing.Destination;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ConnectTimeoutException;
import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * An inbound HBONE stream as a relayed connection like any other: in the registry (caps, drain, live re-check on
 * policy change), with the destination reporter's Istio metrics ({@code mutual_tls}, both principals), an
 * access-log line and one close reason. The stream plays the downstream socket ({@link StreamFrameAdapter}).
 */
public final class TunnelRelay {
    private TunnelRelay() {}

    /**
     * Records a CONNECT the policies denied (the 401 is the caller's), so it shows in the metrics and the access log
     * like a denied plaintext connection.
     */
    public static void denied(
            RelayContext ctx,
            Channel stream,
            Workload workload,
            InetSocketAddress peer,
            String peerUri,
            String workloadUri,
            AuthzContext authz,
            Decision decision,
            InetSocketAddress target) {
        RelaySession session = session(ctx, stream, workload, peer, peerUri, workloadUri, authz, decision, target);
        session.abort(CloseReason.DENIED, decision.reason());
    }

    /**
     * Connects to the app and, once connected, sends the 200 and relays; on failure answers with {@code fail}
     * (503) first. Runs on the stream's event loop.
     */
    public static void connect(
            RelayContext ctx,
            Channel stream,
            Workload workload,
            InetSocketAddress peer,
            String peerUri,
            String workloadUri,
            AuthzContext authz,
            Decision decision,
            InetSocketAddress target,
            Runnable ok,
            Consumer<String> fail) {
        RelaySession session = session(ctx, stream, workload, peer, peerUri, workloadUri, authz, decision, target);
        String refusal = ctx.registry().admit(session, workload);
        if (refusal != null) {
            fail.accept(refusal);
            session.abort(CloseReason.OVERFLOW, refusal);
            return;
        }
        session.admitted();
        // from the peer's IP (IP_TRANSPARENT in the pod), any port: streams of one connection share the peer's
        ChannelFuture cf = ctx.sockets()
                .connectAs(
                        stream.eventLoop(),
                        target,
                        new InetSocketAddress(peer.getAddress(), 0),
                        new RelayHandler(session));
        session.upstream(cf.channel());
        cf.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                fail.accept("connect to " + target + " failed: " + f.cause().getMessage());
                session.abort(
                        f.cause() instanceof ConnectTimeoutException
                                ? CloseReason.CONNECT_TIMEOUT
                                : CloseReason.CONNECT_REFUSED,
                        target + ": " + f.cause().getMessage());
                return;
            }
            if (!stream.isActive()) {
                session.abort(CloseReason.DOWNSTREAM_ABORT, "stream reset while connecting");
                return;
            }
            ok.run();
            stream.config().setAutoRead(false); // the relay reads when the app side can take more
            // "frames" turns DATA frames into bytes and back; an L7 codec (HTTP parsing, routing, per-request
            // policy) goes between it and "relay", bytes in and bytes out, without changing the listener
            stream.pipeline().addLast("frames", new StreamFrameAdapter());
            stream.pipeline().addLast("relay", new RelayHandler(session));
            stream.read();
            f.channel().read();
        });
    }

    /**
     * The peer's workload for telemetry, as ztunnel finds it: the pod at the tunnel's source IP (HBONE connections
     * come from the source pod's own address), believed only when it runs as the identity its certificate proved;
     * otherwise unknown. Never used for policy, which takes the certificate's identity.
     */
    private static Workload sourceWorkload(RelayContext ctx, InetSocketAddress peer, String peerUri) {
        return ctx.snapshot()
                .get()
                .workloadByIp(peer.getAddress())
                .filter(w -> w.identity(ctx.trustDomain()).uri().equals(peerUri))
                .orElse(null);
    }

    private static RelaySession session(
            RelayContext ctx,
            Channel stream,
            Workload workload,
            InetSocketAddress peer,
            String peerUri,
            String workloadUri,
            AuthzContext authz,
            Decision decision,
            InetSocketAddress target) {
        ConnectionRecord record = new ConnectionRecord(
                ctx.ids().incrementAndGet(),
                Direction.INBOUND,
                "hbone/" + workload.key(),
                peer,
                sourceWorkload(ctx, peer, peerUri),
                ctx.ticker().wallClock().instant(),
                ctx.ticker().nanoTime());
        record.originalDestination(target);
        Destination dest = new Destination.ToWorkload(workload, target);
        record.delivery(dest.delivery(ctx.clusterDomain()));
        record.authorized(authz, decision);
        record.tunnel(peerUri, workloadUri);
        RelaySession session = new RelaySession(ctx, record, stream);
        session.open(ConnectionLabels.of(record));
        return session;
    }
}
