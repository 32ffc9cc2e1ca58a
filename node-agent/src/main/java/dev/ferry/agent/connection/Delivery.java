package dev.ferry.agent.connection;

import dev.ferry.mesh.Workload;
import java.net.InetSocketAddress;
import java.util.function.Supplier;

/**
 * Where a connection was sent, as its reports (labels, access log, {@code /config_dump}) tell it; decided by the
 * proxy once routing and the balancer have spoken. Fields are null where they do not apply.
 *
 * @param serviceKey the Service's {@code namespace/name}, when the connection was addressed to one
 * @param serviceHost the Service's FQDN (Istio's {@code destination_service})
 * @param serviceNamespace the Service's namespace
 * @param workload the destination mesh pod, when there is one
 * @param address the address the bytes went to (the endpoint, the pod, or the original destination)
 * @param describer one line for {@code /config_dump}, built only when asked for: every connection has a Delivery,
 *     and formatting its addresses showed in the connection-churn profile
 */
public record Delivery(
        String serviceKey,
        String serviceHost,
        String serviceNamespace,
        Workload workload,
        InetSocketAddress address,
        Supplier<String> describer) {

    /** Refused before it went anywhere. */
    public static Delivery refused(String detail) {
        return new Delivery(null, null, null, null, null, () -> "refused: " + detail);
    }

    /** The one line for {@code /config_dump}. */
    public String description() {
        return describer.get();
    }
}
