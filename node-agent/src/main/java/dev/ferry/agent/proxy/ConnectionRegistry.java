package dev.ferry.agent.proxy;

import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import dev.ferry.mesh.authz.PolicyEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every live relayed connection, with the node-wide and per-workload caps. Drain, {@code /config_dump}, metrics
 * (and later policy re-checks) read it. Admission is a counter check-and-increment, no locks on the data path.
 */
public final class ConnectionRegistry {
    private final int maxConnections;
    private final int maxPerWorkload;
    private final ConcurrentHashMap<Long, RelaySession> live = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Integer> perWorkload = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private final AtomicInteger outbound = new AtomicInteger();
    private final AtomicInteger inbound = new AtomicInteger();

    public ConnectionRegistry(int maxConnections, int maxPerWorkload) {
        this.maxConnections = maxConnections;
        this.maxPerWorkload = maxPerWorkload;
    }

    /** @return null when admitted, else why not (the caller closes the connection with OVERFLOW) */
    String admit(RelaySession session) {
        if (total.incrementAndGet() > maxConnections) {
            total.decrementAndGet();
            return "node-wide limit of " + maxConnections + " connections reached";
        }
        ConnectionRecord r = session.record();
        if (r.sourceWorkload() != null) {
            boolean[] admitted = {false};
            // compute() makes check-and-increment atomic per key, and lets remove() drop zero entries safely.
            perWorkload.compute(r.sourceWorkload().key(), (k, n) -> {
                int count = n == null ? 0 : n;
                if (count >= maxPerWorkload) {
                    return n;
                }
                admitted[0] = true;
                return count + 1;
            });
            if (!admitted[0]) {
                total.decrementAndGet();
                return "limit of " + maxPerWorkload + " connections for workload "
                        + r.sourceWorkload().key() + " reached";
            }
        }
        (r.direction() == Direction.OUTBOUND ? outbound : inbound).incrementAndGet();
        live.put(r.id(), session);
        return null;
    }

    void remove(RelaySession session) {
        ConnectionRecord r = session.record();
        if (live.remove(r.id()) == null) {
            return;
        }
        total.decrementAndGet();
        (r.direction() == Direction.OUTBOUND ? outbound : inbound).decrementAndGet();
        if (r.sourceWorkload() != null) {
            perWorkload.compute(r.sourceWorkload().key(), (k, n) -> n == null || n <= 1 ? null : n - 1);
        }
    }

    public int size() {
        return total.get();
    }

    public int outbound() {
        return outbound.get();
    }

    public int inbound() {
        return inbound.get();
    }

    public List<ConnectionRecord> records() {
        List<ConnectionRecord> out = new ArrayList<>(live.size());
        live.values().forEach(s -> out.add(s.record()));
        return out;
    }

    /**
     * Re-checks every live inbound connection that was authorized against {@code engine} and cuts (TCP reset) those
     * it now denies; each cut runs on its connection's event loop.
     *
     * @return how many were cut
     */
    public int recheck(PolicyEngine engine, java.util.function.BiConsumer<ConnectionRecord, Decision> onDeny) {
        int cut = 0;
        for (RelaySession s : live.values()) {
            AuthzContext c = s.record().authzContext();
            if (c == null) {
                continue;
            }
            Decision d = engine.check(c);
            if (!d.allowed()) {
                s.record().authorized(c, d);
                onDeny.accept(s.record(), d);
                s.denyFromAnyThread("policies changed: " + d.reason());
                cut++;
            }
        }
        return cut;
    }

    /** Closes every live connection with {@code reason}; each close runs on its connection's event loop. */
    public void closeAll(CloseReason reason, String detail) {
        live.values().forEach(s -> s.abortFromAnyThread(reason, detail));
    }
}
