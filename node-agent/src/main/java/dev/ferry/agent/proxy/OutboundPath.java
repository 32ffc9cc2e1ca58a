package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Delivery;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.Connector;
import dev.ferry.agent.http.HttpConnection;
import dev.ferry.agent.routing.Destination;
import dev.ferry.agent.routing.RequestBalancer;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.lb.LoadBalancing;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * A connection a pod opened: admitted under the node's and the source's caps, routed to a logical target, sent to one
 * endpoint the balancer picks (L4: once per connection), through the connector the destination calls for.
 */
final class OutboundPath {
    private OutboundPath() {}

    /**
     * The endpoint of a connection, by the Service's DestinationRule as for a request: a hash on the source IP keeps
     * a client on one endpoint; a header or query key does not exist at L4, so those connections are spread at
     * random (as a request without its key); least-request and peak-EWMA count open connections (a connection's
     * lifetime is not a latency). The endpoint's count drops when the client's side closes.
     */
    private static Endpoint pick(
            RelayContext ctx, MeshSnapshot snapshot, ServiceBinding binding, Workload owner, InetAddress sourceIp) {
        LoadBalancing lb = snapshot.loadBalancing(
                binding.service(), binding.port().port(), owner == null ? null : owner.namespace());
        if (lb == LoadBalancing.Simple.PEAK_EWMA) {
            lb = LoadBalancing.Simple.LEAST_REQUEST;
        }
        long key = lb instanceof LoadBalancing.ConsistentHash h && h.key() instanceof LoadBalancing.HashKey.SourceIp
                ? RequestBalancer.key(sourceIp.getHostAddress()) // as for a request: a client keeps its endpoint
                : RequestBalancer.NO_KEY;
        return ctx.balancer().pick(binding, lb, key, null);
    }

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
        MeshSnapshot snapshot = ctx.snapshot().get();
        Destination dest = ctx.resolver().outbound(snapshot, original);
        InetSocketAddress target;
        Workload destination;
        Delivery delivery;
        switch (dest) {
            case Destination.ToService s
            when ctx.http() != null && s.protocol().isHttp() -> {
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
                Endpoint e =
                        pick(ctx, snapshot, s.binding(), owner, record.source().getAddress());
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
                session.countOn(ctx.balancer().load(e));
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
                ctx.sockets().forRelay(),
                session.downstream().eventLoop(),
                target,
                null,
                owner,
                // the pod's own address, as the redirected connection came from it (the listener's owner record may
                // predate the control plane learning the pod's IP)
                record.source().getAddress(),
                destination,
                new RelayHandler(session));
        Connector connector = ctx.connectors().choose(owner, destination);
        Connector.Principals principals = connector.principals(request);
        if (principals != null) { // known before the labels: the metrics say mutual_tls with both principals
            record.tunnel(principals.source(), principals.destination());
        }
        session.open(ConnectionLabels.of(record));
        Upstreams.open(ctx, session, connector, request, null);
    }
}
