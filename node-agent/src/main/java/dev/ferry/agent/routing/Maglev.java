package dev.ferry.agent.routing;

import dev.ferry.mesh.Endpoint;
import java.util.Arrays;
import java.util.List;

/**
 * Maglev (Eisenbud et al., NSDI 2016), as Envoy's: a lookup table of a prime size {@code m} filled by the endpoints
 * in turn, each taking the next free slot of its own permutation (offset and skip from two hashes of its name), so
 * each endpoint owns about {@code m / n} slots and a change of endpoints moves few of them. A lookup is one array
 * read.
 */
final class Maglev implements HashTable {
    private final List<Endpoint> endpoints;
    private final int[] table;

    Maglev(List<Endpoint> endpoints, int m) {
        this.endpoints = endpoints;
        int n = endpoints.size();
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] next = new long[n];
        for (int i = 0; i < n; i++) {
            String name = HashTable.name(endpoints.get(i));
            offset[i] = Long.remainderUnsigned(Hashing.of(name), m);
            skip[i] = Long.remainderUnsigned(Hashing.of(name + "#skip"), m - 1) + 1;
        }
        table = new int[m];
        Arrays.fill(table, -1);
        int filled = 0;
        while (filled < m) {
            for (int i = 0; i < n && filled < m; i++) {
                int slot;
                do {
                    slot = (int) ((offset[i] + next[i] * skip[i]) % m);
                    next[i]++;
                } while (table[slot] >= 0);
                table[slot] = i;
                filled++;
            }
        }
    }

    @Override
    public Endpoint lookup(long hash) {
        return endpoints.get(table[(int) Long.remainderUnsigned(hash, table.length)]);
    }

    @Override
    public List<Endpoint> endpoints() {
        return endpoints;
    }

    @Override
    public int size() {
        return table.length;
    }
}
