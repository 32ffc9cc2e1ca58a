package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Delivery;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.Connector;
import dev.ferry.agent.http.HttpConnection;
import dev.ferry.agent.routing.Destination;
import dev.ferry.mesh.AppProtocol;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.Workload;
import java.net.InetSocketAddress;

/**
 * A connection a pod opened: admitted under the node's and the source's caps, routed to a logical target, sent to one
 * endpoint the balancer picks (L4: once per connection), through the connector the destination calls for.
 */
final class OutboundPath {
    private OutboundPath() {}

    static void start(RelayContext ctx, RelaySession session, Workload owner) {
        ConnectionRecord record = session.record();
        String refusal = ctx.registry().admit(session, null);
        if (refusal != null) {
            session.open(ConnectionLabels.base(record));
            session.abort(CloseReason.OVERFLOW, refusal);
            return;
        }
        session.admitted();
        InetSocketAddress original = AcceptHandler.originalDestination(session);
        if (original == null) {
            return;
        }
        Destination dest = ctx.resolver().outbound(ctx.snapshot().get(), original);
        InetSocketAddress target;
        Workload destination;
        Delivery delivery;
        switch (dest) {
            case Destination.ToService s
            when ctx.http() != null && s.protocol() == AppProtocol.HTTP -> {
                // HTTP: the endpoint is picked per request, by the HTTP layer
                record.delivery(s.delivery(ctx.clusterDomain()));
                session.open(ConnectionLabels.of(record));
                ctx.http()
                        .start(new HttpConnection(
                                session,
                                s.binding(),
                                owner,
                                record.source().getAddress(),
                                ctx.sockets(),
                                ctx.connectors()));
                return;
            }
            case Destination.ToService s -> {
                Endpoint e = ctx.balancer().pick(s.binding());
                if (e == null) {
                    record.delivery(s.delivery(ctx.clusterDomain()));
                    session.open(ConnectionLabels.of(record));
                    session.abort(
                            CloseReason.NO_HEALTHY_UPSTREAM,
                            "service " + s.binding().service().key() + ":"
                                    + s.binding().port().port() + " has no ready endpoint");
                    return;
                }
                target = e.address();
                destination = e.workload();
                delivery = s.sentTo(e, ctx.clusterDomain());
            }
            case Destination.ToWorkload w -> {
                target = w.address();
                destination = w.workload();
                delivery = w.delivery(ctx.clusterDomain());
            }
            case Destination.Passthrough p -> {
                target = p.address();
                destination = null;
                delivery = p.delivery(ctx.clusterDomain());
            }
            case Destination.Refused r -> {
                record.delivery(r.delivery(ctx.clusterDomain()));
                session.open(ConnectionLabels.of(record));
                session.abort(r.reason(), r.detail());
                return;
            }
        }
        record.delivery(delivery);
        ConnectRequest request = new ConnectRequest(
                ctx.sockets(),
                session.downstream().eventLoop(),
                target,
                null,
                owner,
                // the pod's own address, as the redirected connection came from it (the listener's owner record may
                // predate the control plane learning the pod's IP)
                record.source().getAddress(),
                destination,
                new RelayHandler(session));
        Connector connector = ctx.connectors().forOutbound(owner, destination);
        Connector.Principals principals = connector.principals(request);
        if (principals != null) { // known before the labels: the metrics say mutual_tls with both principals
            record.tunnel(principals.source(), principals.destination());
        }
        session.open(ConnectionLabels.of(record));
        Upstreams.open(ctx, session, connector, request, null);
    }
}
