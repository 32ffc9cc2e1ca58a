package dev.ferry.agent.routing;

import dev.ferry.mesh.Endpoint;
import java.util.Arrays;
import java.util.List;

/**
 * Ketama-style ring hash, as Envoy's: each endpoint is hashed onto a ring at {@code size / n} points (at least one),
 * and a key goes to the first point at or after its own hash, wrapping around.
 */
final class RingHash implements HashTable {
    private final List<Endpoint> endpoints;
    private final long[] points;
    private final int[] owners;

    RingHash(List<Endpoint> endpoints, int minimumSize) {
        this.endpoints = endpoints;
        int n = endpoints.size();
        int each = Math.max(1, (minimumSize + n - 1) / n);
        long[] hashes = new long[n * each];
        for (int e = 0; e < n; e++) {
            String name = HashTable.name(endpoints.get(e));
            for (int i = 0; i < each; i++) {
                hashes[e * each + i] = Hashing.of(name + "_" + i);
            }
        }
        // sort the points by hash, keeping each point's owner: sort indices by their hash
        Integer[] order = new Integer[hashes.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Long.compareUnsigned(hashes[a], hashes[b]));
        points = new long[order.length];
        owners = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            points[i] = hashes[order[i]];
            owners[i] = order[i] / each;
        }
    }

    @Override
    public Endpoint lookup(long hash) {
        int lo = 0;
        int hi = points.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(points[mid], hash) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return endpoints.get(owners[lo == points.length ? 0 : lo]);
    }

    @Override
    public List<Endpoint> endpoints() {
        return endpoints;
    }

    @Override
    public int size() {
        return points.length;
    }
}
