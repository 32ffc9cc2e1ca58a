package dev.ferry.agent.http;

import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.WorkloadNames;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.Workload;

/** A request's Istio labels: its connection's, with the backend Service and the endpoint it was sent to. */
final class RequestLabels {
    private RequestLabels() {}

    /** @param endpoint null when the request never reached one (answered or refused by Ferry)
     * @param protocol {@code http} or {@code grpc}
     */
    static ConnectionLabels of(
            HttpOutbound http, HttpConnection conn, Service service, Endpoint endpoint, String protocol) {
        ConnectionLabels base = ConnectionLabels.base(conn.session().record());
        Workload dest = endpoint == null ? null : endpoint.workload();
        boolean mtls = endpoint != null
                && conn.connectors().forOutbound(conn.source(), dest)
                        != conn.connectors().plain();
        return new ConnectionLabels(
                base.reporter(),
                base.sourceWorkload(),
                base.sourceWorkloadNamespace(),
                mtls ? conn.source().identity(http.trustDomain()).uri() : base.sourcePrincipal(),
                service.hostname(http.clusterDomain()),
                service.namespace(),
                dest == null ? ConnectionLabels.UNKNOWN : WorkloadNames.of(dest),
                dest == null ? ConnectionLabels.UNKNOWN : dest.namespace(),
                mtls ? dest.identity(http.trustDomain()).uri() : ConnectionLabels.UNKNOWN,
                protocol,
                mtls ? "mutual_tls" : base.connectionSecurityPolicy());
    }
}
