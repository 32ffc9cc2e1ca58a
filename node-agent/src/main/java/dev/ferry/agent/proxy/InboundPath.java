package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.connection.InboundTunnel;
import dev.ferry.agent.connection.InboundTunnels;
import dev.ferry.agent.connection.TunnelAnswer;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.TcpConnector;
import dev.ferry.agent.http.HttpInbound;
import dev.ferry.agent.routing.Destination;
import dev.ferry.mesh.AppProtocol;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import dev.ferry.mesh.authz.PolicyEngine;
import java.net.InetSocketAddress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery to a pod of this node, shared by the plaintext inbound listener (15006) and the HBONE server (15008,
 * once it has parsed the CONNECT and verified the peer): admitted under the destination's caps, checked against
 * the pod's authorization policies with what the transport proved (the TCP peer only, or the certificate's
 * identity), then the app connected from the client's IP and the bytes relayed. One instance per pod listener set,
 * since it connects with the pod's socket factory.
 */
public final class InboundPath implements InboundTunnels {
    private static final Logger AUDIT = LoggerFactory.getLogger("ferry.authz");

    private final RelayContext ctx;

    public InboundPath(RelayContext ctx) {
        this.ctx = ctx;
    }

    /** A plaintext connection captured by the inbound listener; the session's downstream is the client's socket. */
    void plaintext(RelaySession session, Workload workload, InetSocketAddress target) {
        ConnectionRecord record = session.record();
        record.delivery(new Destination.ToWorkload(workload, target).delivery(ctx.clusterDomain()));
        session.open(ConnectionLabels.of(record));
        AuthzContext context = AuthzContext.plaintext(
                record.source().getAddress(), workload.namespace(), workload.labels(), target.getPort());
        // the app sees the client's own address and port
        deliver(session, workload, target, context, record.source(), null);
    }

    /** An HBONE CONNECT to this pod: its stream plays the downstream socket. */
    @Override
    public void accept(InboundTunnel t) {
        ConnectionRecord record = new ConnectionRecord(
                ctx.ids().incrementAndGet(),
                Direction.INBOUND,
                t.listener(),
                t.peer(),
                sourceWorkload(t),
                ctx.ticker().wallClock().instant(),
                ctx.ticker().nanoTime());
        record.originalDestination(t.target());
        record.delivery(new Destination.ToWorkload(t.workload(), t.target()).delivery(ctx.clusterDomain()));
        record.tunnel(t.peerIdentity().uri(), t.workloadPrincipal());
        RelaySession session = new RelaySession(ctx, record, t.stream());
        t.stream().pipeline().addLast("early", new EarlyBytes(session));
        session.open(ConnectionLabels.of(record));
        AuthzContext context = new AuthzContext(
                t.peer().getAddress(),
                t.peerIdentity().principal(),
                t.peerIdentity().namespace(),
                t.workload().namespace(),
                t.workload().labels(),
                t.target().getPort(),
                null);
        // from the peer's IP (IP_TRANSPARENT in the pod), any port: streams of one connection share the peer's
        deliver(
                session,
                t.workload(),
                t.target(),
                context,
                new InetSocketAddress(t.peer().getAddress(), 0),
                t.answer());
    }

    private void deliver(
            RelaySession session,
            Workload workload,
            InetSocketAddress target,
            AuthzContext context,
            InetSocketAddress from,
            TunnelAnswer answer) {
        String refusal = ctx.registry().admit(session, workload);
        if (refusal != null) {
            if (answer != null) {
                answer.failed(refusal);
            }
            session.abort(CloseReason.OVERFLOW, refusal);
            return;
        }
        session.admitted();
        MeshSnapshot state = ctx.snapshot().get();
        PolicyEngine engine = state.authz();
        AppProtocol protocol = state.inboundProtocol(target);
        boolean perRequest = engine.needsHttp(workload.namespace(), workload.labels()) && protocol.isHttp();
        Decision decision = perRequest
                ? engine.strictRefusal(context)
                : authorize(engine, session.record(), workload, target, context);
        if (decision != null && !decision.allowed()) {
            if (perRequest) {
                count(session.record(), workload, target, context, decision);
            }
            if (answer != null) {
                answer.denied(decision.reason()); // the answer first: the reset would leave no stream to send it on
            }
            session.deny(decision.reason());
            return;
        }
        ConnectRequest request = new ConnectRequest(
                ctx.sockets().forRelay(),
                session.downstream().eventLoop(),
                target,
                from,
                null,
                from.getAddress(),
                workload,
                new RelayHandler(session));
        if (!perRequest) {
            Upstreams.open(ctx, session, TcpConnector.INSTANCE, request, answer);
            return;
        }
        // An L7 policy selects the pod and the port is HTTP: its requests are parsed and each one decided
        session.record().authorizedPerRequest(context);
        ConnectionRecord record = session.record();
        HttpInbound.Gate gate = http -> {
            AuthzContext c = context.withHttp(http);
            Decision d = ctx.snapshot().get().authz().check(c); // the policies in force when the request came
            counted(record, workload, target, d, "request " + http.method() + " " + http.path() + " on connection");
            return d;
        };
        Upstreams.open(ctx, session, TcpConnector.INSTANCE, request, answer, Upstreams.http(gate, protocol.isHttp2()));
    }

    /**
     * Checks the connection against the policies of its destination workload; a plaintext source is the TCP peer
     * only (no principal, no namespace — never taken from anything the client says).
     *
     */
    private Decision authorize(
            PolicyEngine engine,
            ConnectionRecord record,
            Workload workload,
            InetSocketAddress target,
            AuthzContext context) {
        Decision decision = engine.check(context);
        count(record, workload, target, context, decision);
        return decision;
    }

    private void count(
            ConnectionRecord record,
            Workload workload,
            InetSocketAddress target,
            AuthzContext context,
            Decision decision) {
        record.authorized(context, decision);
        counted(record, workload, target, decision, "connection");
    }

    /** A decision into the metrics, and its AUDIT matches into the audit log; {@code what} names what was decided. */
    private void counted(
            ConnectionRecord record, Workload workload, InetSocketAddress target, Decision decision, String what) {
        ctx.metrics().authzDecision(decision.allowed(), decision.policy());
        for (String audit : decision.audited()) {
            AUDIT.info(
                    "{} {} from {} to {}/{}:{} matched AUDIT policy {}",
                    what,
                    record.id(),
                    record.source(),
                    workload.namespace(),
                    workload.name(),
                    target.getPort(),
                    audit);
        }
    }

    /**
     * The peer's workload for telemetry, as ztunnel finds it: the pod at the tunnel's source IP (HBONE connections
     * come from the source pod's own address), believed only when it runs as the identity its certificate proved;
     * otherwise unknown. Never used for policy, which takes the certificate's identity.
     */
    private Workload sourceWorkload(InboundTunnel t) {
        return ctx.snapshot()
                .get()
                .workloadByIp(t.peer().getAddress())
                .filter(w -> w.identity(ctx.trustDomain()).equals(t.peerIdentity()))
                .orElse(null);
    }
}
