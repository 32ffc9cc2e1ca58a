package dev.ferry.mesh.lb;

/**
 * How a Service's requests are spread over its endpoints: Istio's {@code trafficPolicy.loadBalancer}, plus peak-EWMA
 * (named by the {@code ferry.dev/load-balancer} annotation, since Istio's schema has no value for it).
 */
public sealed interface LoadBalancing {
    /** No DestinationRule says otherwise: least-request, as Istio's default. */
    LoadBalancing DEFAULT = Simple.LEAST_REQUEST;

    /** The algorithms that need no per-request key. */
    enum Simple implements LoadBalancing {
        ROUND_ROBIN,
        /** The less loaded of two endpoints drawn at random (power of two choices), by requests in flight. */
        LEAST_REQUEST,
        RANDOM,
        /** The cheaper of two random endpoints, cost = peak-sensitive moving average of latency x (in flight + 1). */
        PEAK_EWMA
    }

    /** Consistent hashing: the same key goes to the same endpoint while the endpoints stay, and mostly after. */
    record ConsistentHash(HashKey key, Table table, int size) implements LoadBalancing {}

    /** What a request is hashed on. A request without it (no such header) is spread at random, as Envoy does. */
    sealed interface HashKey {
        record Header(String name) implements HashKey {}

        record QueryParameter(String name) implements HashKey {}

        record SourceIp() implements HashKey {}
    }

    /**
     * Ring hash (size: the least ring size) or Maglev (size: the lookup table's, a prime).
     */
    enum Table {
        RING_HASH,
        MAGLEV
    }
}
