package dev.ferry.agent.routing;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.lb.LoadBalancing;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * Picks the endpoint of each HTTP request (and of each L4 connection) by the Service's load-balancing policy (a DestinationRule's, else
 * least-request): round robin, least-request and peak-EWMA by the power of two choices, random, ring hash or Maglev
 * on a key. Called on event loops concurrently; nothing here locks or blocks. What outlives a snapshot (cursors,
 * per-endpoint load, hash tables) is keyed by Service port or endpoint address and pruned when a snapshot is applied.
 */
public final class RequestBalancer {
    /** A request with no hash key (the header absent): spread at random, as Envoy does. */
    public static final long NO_KEY = 0;

    private final RoundRobinBalancer roundRobin;
    private final RandomGenerator random;
    private final ConcurrentHashMap<InetSocketAddress, EndpointLoad> loads = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, HashTable> tables = new ConcurrentHashMap<>();

    /** The hash key of a value (a header, a parameter, a source IP in text form), never {@link #NO_KEY}. */
    public static long key(String value) {
        long k = Hashing.of(value);
        return k == NO_KEY ? 1 : k;
    }

    public RequestBalancer(RoundRobinBalancer roundRobin, RandomGenerator random) {
        this.roundRobin = roundRobin;
        this.random = random;
    }

    /**
     * One of the binding's ready endpoints, or null when it has none.
     *
     * @param key the request's hash for a consistent-hash policy ({@link #NO_KEY} when it has none)
     * @param avoid an endpoint to pass over when another can be had (a retry's previous one), or null
     */
    public Endpoint pick(ServiceBinding binding, LoadBalancing policy, long key, Endpoint avoid) {
        List<Endpoint> endpoints = binding.endpoints();
        int n = endpoints.size();
        if (n <= 1) {
            return n == 0 ? null : endpoints.getFirst();
        }
        Endpoint e = pickOnce(binding, policy, key);
        if (avoid != null && e.equals(avoid)) {
            // a retry goes elsewhere: for a hash, the next endpoint of the set stands in (the key's owner failed)
            e = policy instanceof LoadBalancing.ConsistentHash
                    ? endpoints.get((endpoints.indexOf(e) + 1) % n)
                    : pickOnce(binding, policy, key);
            if (e.equals(avoid)) {
                e = endpoints.get((endpoints.indexOf(e) + 1 + random.nextInt(n - 1)) % n);
            }
        }
        return e;
    }

    private Endpoint pickOnce(ServiceBinding binding, LoadBalancing policy, long key) {
        List<Endpoint> endpoints = binding.endpoints();
        return switch (policy) {
            case LoadBalancing.Simple s ->
                switch (s) {
                    case ROUND_ROBIN -> roundRobin.pick(binding);
                    case RANDOM -> endpoints.get(random.nextInt(endpoints.size()));
                    case LEAST_REQUEST -> twoChoices(endpoints, false);
                    case PEAK_EWMA -> twoChoices(endpoints, true);
                };
            case LoadBalancing.ConsistentHash h ->
                key == NO_KEY
                        ? endpoints.get(random.nextInt(endpoints.size()))
                        : table(binding, h).lookup(key);
        };
    }

    /** The less loaded of two distinct endpoints drawn at random; a tie goes to the first drawn. */
    private Endpoint twoChoices(List<Endpoint> endpoints, boolean byLatency) {
        int n = endpoints.size();
        int i = random.nextInt(n);
        int j = random.nextInt(n - 1);
        if (j >= i) {
            j++;
        }
        Endpoint a = endpoints.get(i);
        Endpoint b = endpoints.get(j);
        EndpointLoad la = load(a);
        EndpointLoad lb = load(b);
        if (byLatency) {
            return lb.cost() < la.cost() ? b : a;
        }
        return lb.active() < la.active() ? b : a;
    }

    private HashTable table(ServiceBinding binding, LoadBalancing.ConsistentHash h) {
        String k = binding.service().key() + ":" + binding.port().port();
        HashTable t = tables.get(k);
        if (t != null && t.endpoints() == binding.endpoints() && t.size() >= h.size() && matches(t, h)) {
            return t;
        }
        // built on the event loop that first needs it after a change: O(size), a fraction of a millisecond
        HashTable built = h.table() == LoadBalancing.Table.MAGLEV
                ? new Maglev(binding.endpoints(), h.size())
                : new RingHash(binding.endpoints(), h.size());
        tables.put(k, built);
        return built;
    }

    private static boolean matches(HashTable t, LoadBalancing.ConsistentHash h) {
        return h.table() == LoadBalancing.Table.MAGLEV ? t instanceof Maglev : t instanceof RingHash;
    }

    /** The load record of an endpoint (created on first use). */
    public EndpointLoad load(Endpoint e) {
        return loads.computeIfAbsent(e.address(), a -> new EndpointLoad());
    }

    /** Drops what belongs to Services and endpoints that are gone; called by the snapshot's single writer. */
    public void retainOnly(MeshSnapshot snapshot) {
        Set<InetSocketAddress> live = new HashSet<>();
        Set<String> ports = new HashSet<>();
        snapshot.services().forEach(s -> s.ports().forEach(p -> ports.add(s.key() + ":" + p.port())));
        for (var s : snapshot.services()) {
            for (var p : s.ports()) {
                if (s.vips().isEmpty()) {
                    continue;
                }
                ServiceBinding b =
                        snapshot.bindingFor(new InetSocketAddress(s.vips().getFirst(), p.port()));
                if (b != null) {
                    b.endpoints().forEach(e -> live.add(e.address()));
                }
            }
        }
        loads.keySet().retainAll(live);
        tables.keySet().retainAll(ports);
    }
}
