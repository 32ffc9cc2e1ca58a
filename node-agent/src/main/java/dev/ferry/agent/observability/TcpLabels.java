package dev.ferry.agent.observability;

import java.util.Objects;

/**
 * Istio's standard TCP metric labels for one connection, {@code unknown} where unknown. Decided once the
 * destination is resolved; {@code response_flags} is added per metric (open/bytes use "-", closed the real one).
 */
public record TcpLabels(
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

    static final String[] NAMES = {
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

    public TcpLabels {
        Objects.requireNonNull(reporter);
    }

    String[] values(String responseFlags) {
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
}
