package dev.ferry.agent.connection;

import dev.ferry.mesh.Workload;
import java.util.Objects;

/**
 * Istio's standard TCP metric labels for one connection, {@code unknown} where unknown. Decided once the
 * destination is resolved; {@code response_flags} is added per metric (open/bytes use "-", closed the real one).
 */
public record ConnectionLabels(
        String reporter,
        String sourceWorkload,
        String sourceWorkloadNamespace,
        String sourcePrincipal,
        String destinationService,
        String destinationServiceNamespace,
        String destinationWorkload,
        String destinationWorkloadNamespace,
        String destinationPrincipal,
        String requestProtocol,
        String connectionSecurityPolicy) {

    public static final String UNKNOWN = "unknown";

    public static final String[] NAMES = {
        "reporter",
        "source_workload",
        "source_workload_namespace",
        "source_principal",
        "destination_service",
        "destination_service_namespace",
        "destination_workload",
        "destination_workload_namespace",
        "destination_principal",
        "request_protocol",
        "response_flags",
        "connection_security_policy"
    };

    public ConnectionLabels {
        Objects.requireNonNull(reporter);
    }

    public String[] values(String responseFlags) {
        return new String[] {
            reporter,
            sourceWorkload,
            sourceWorkloadNamespace,
            sourcePrincipal,
            destinationService,
            destinationServiceNamespace,
            destinationWorkload,
            destinationWorkloadNamespace,
            destinationPrincipal,
            requestProtocol,
            responseFlags,
            connectionSecurityPolicy
        };
    }

    /** The same labels for a request of this connection parsed as {@code protocol} ({@code http}, {@code grpc}). */
    public ConnectionLabels withProtocol(String protocol) {
        return new ConnectionLabels(
                reporter,
                sourceWorkload,
                sourceWorkloadNamespace,
                sourcePrincipal,
                destinationService,
                destinationServiceNamespace,
                destinationWorkload,
                destinationWorkloadNamespace,
                destinationPrincipal,
                protocol,
                connectionSecurityPolicy);
    }

    /** Labels known from the listener alone (before or without a destination). */
    public static ConnectionLabels base(ConnectionRecord r) {
        Workload src = r.sourceWorkload();
        return new ConnectionLabels(
                r.direction().reporter(),
                src == null ? UNKNOWN : WorkloadNames.of(src),
                src == null ? UNKNOWN : src.namespace(),
                UNKNOWN,
                UNKNOWN,
                UNKNOWN,
                UNKNOWN,
                UNKNOWN,
                UNKNOWN,
                "tcp",
                UNKNOWN);
    }

    /** The full set once the record knows where the connection went ({@link ConnectionRecord#delivery()}). */
    public static ConnectionLabels of(ConnectionRecord r) {
        ConnectionLabels base = base(r);
        Delivery d = r.delivery();
        Workload target = d == null ? null : d.workload();
        boolean mtls = r.mutualTls();
        return new ConnectionLabels(
                base.reporter(),
                base.sourceWorkload(),
                base.sourceWorkloadNamespace(),
                mtls ? r.sourcePrincipal() : base.sourcePrincipal(),
                d == null || d.serviceHost() == null ? UNKNOWN : d.serviceHost(),
                d == null || d.serviceNamespace() == null ? UNKNOWN : d.serviceNamespace(),
                target == null ? UNKNOWN : WorkloadNames.of(target),
                target == null ? UNKNOWN : target.namespace(),
                mtls ? r.destinationPrincipal() : UNKNOWN,
                base.requestProtocol(),
                mtls ? "mutual_tls" : base.connectionSecurityPolicy());
    }
}
