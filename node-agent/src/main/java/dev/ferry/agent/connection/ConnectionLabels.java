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

    /*
     * equals and hashCode written out: the record's generated ones go through method handles, which the agent's
     * no-trap C2 flags leave uninlined, and the metrics look a connection's labels up at its open and its close.
     */

    @Override
    public int hashCode() {
        int h = reporter.hashCode();
        h = 31 * h + Objects.hashCode(sourceWorkload);
        h = 31 * h + Objects.hashCode(sourceWorkloadNamespace);
        h = 31 * h + Objects.hashCode(sourcePrincipal);
        h = 31 * h + Objects.hashCode(destinationService);
        h = 31 * h + Objects.hashCode(destinationServiceNamespace);
        h = 31 * h + Objects.hashCode(destinationWorkload);
        h = 31 * h + Objects.hashCode(destinationWorkloadNamespace);
        h = 31 * h + Objects.hashCode(destinationPrincipal);
        h = 31 * h + Objects.hashCode(requestProtocol);
        h = 31 * h + Objects.hashCode(connectionSecurityPolicy);
        return h;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ConnectionLabels o
                && reporter.equals(o.reporter)
                && Objects.equals(sourceWorkload, o.sourceWorkload)
                && Objects.equals(sourceWorkloadNamespace, o.sourceWorkloadNamespace)
                && Objects.equals(sourcePrincipal, o.sourcePrincipal)
                && Objects.equals(destinationService, o.destinationService)
                && Objects.equals(destinationServiceNamespace, o.destinationServiceNamespace)
                && Objects.equals(destinationWorkload, o.destinationWorkload)
                && Objects.equals(destinationWorkloadNamespace, o.destinationWorkloadNamespace)
                && Objects.equals(destinationPrincipal, o.destinationPrincipal)
                && Objects.equals(requestProtocol, o.requestProtocol)
                && Objects.equals(connectionSecurityPolicy, o.connectionSecurityPolicy);
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
