package dev.ferry.agent.routing;

import dev.ferry.mesh.Endpoint;
import java.util.List;

/**
 * A consistent-hash lookup built once per endpoint set: the same key finds the same endpoint, and when an endpoint
 * comes or goes only the keys it owned move. Immutable, shared by the event loops.
 */
interface HashTable {
    Endpoint lookup(long hash);

    /** The endpoint set the table was built for (by identity: a new snapshot's list means a new table). */
    List<Endpoint> endpoints();

    int size();

    /** An endpoint's name on the ring or in the table: its address, stable across snapshots. */
    static String name(Endpoint e) {
        return e.address().getAddress().getHostAddress() + ":" + e.address().getPort();
    }
}
