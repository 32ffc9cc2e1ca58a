package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Direction;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import dev.ferry.mesh.authz.PolicyEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Every live relayed connection, and the limits that keep one source from denying service to the rest (admission is
 * counters only: no lock on the data path, and nothing a peer sends reaches a lock shared across event loops):
 *
 * <ul>
 *   <li>node-wide {@code maxConnections} (each relayed connection costs two file descriptors);
 *   <li>per source: the workload for outbound (known from the listener), the peer's IP for inbound (plaintext and
 *       every HBONE stream) — {@code maxConnectionsPerWorkload} and {@code maxConnectionsPerSource};
 *   <li>per destination workload on inbound, {@code maxConnectionsPerWorkload}: a flood aimed at one pod does not take
 *       the node's capacity from the others;
 *   <li>reserved headroom: the last {@code reservedConnectionsPercent} (10) of the node's capacity admits only sources holding fewer than {@link
 *       #SMALL_SOURCE} connections, so however the big ones share the rest, a new workload still gets its first
 *       connections.
 * </ul>
 */
public final class ConnectionRegistry {
    /** A source below this many connections may use the reserved headroom. */
    static final int SMALL_SOURCE = 64;
    /** HBONE connections one source IP may hold on this node (see {@link #admitHbone}). */
    static final int HBONE_PER_SOURCE = 256;

    private final int maxConnections;
    private final int maxPerWorkload;
    private final int maxPerSource;
    private final int headroomStart;
    private final ConcurrentHashMap<Long, Admitted> live = new ConcurrentHashMap<>();
    private final ConnectionCounts<Object> sources = new ConnectionCounts<>();
    private final ConnectionCounts<String> destinations = new ConnectionCounts<>();
    private final ConnectionCounts<java.net.InetAddress> hboneSources = new ConnectionCounts<>();
    private final AtomicInteger hbone = new AtomicInteger();
    private final AtomicInteger total = new AtomicInteger();
    private final AtomicInteger outbound = new AtomicInteger();
    private final AtomicInteger inbound = new AtomicInteger();

    /** A live connection and the keys it was counted under. */
    private record Admitted(RelaySession session, Object source, String destination) {}

    public ConnectionRegistry(int maxConnections, int maxPerWorkload) {
        this(maxConnections, maxPerWorkload, maxPerWorkload, 10);
    }

    /** @param reservedPercent the share of {@code maxConnections} kept for small sources (see above) */
    public ConnectionRegistry(int maxConnections, int maxPerWorkload, int maxPerSource, int reservedPercent) {
        this.maxConnections = maxConnections;
        this.maxPerWorkload = maxPerWorkload;
        this.maxPerSource = maxPerSource;
        this.headroomStart = maxConnections - (int) ((long) maxConnections * reservedPercent / 100);
    }

    /**
     * @param destination the workload an inbound connection is for, when known at accept (a pod's listener, an HBONE
     *     stream); null for outbound
     * @return null when admitted, else why not (the caller closes the connection with OVERFLOW)
     */
    String admit(RelaySession session, Workload destination) {
        ConnectionRecord r = session.record();
        Object source = r.direction() == Direction.OUTBOUND && r.sourceWorkload() != null
                ? r.sourceWorkload().key()
                : r.source().getAddress();
        // An outbound source is a workload of this node (or the node itself): the workload cap. An inbound one is
        // whoever connected, known by IP only.
        boolean out = r.direction() == Direction.OUTBOUND;
        int sourceMax = out ? maxPerWorkload : maxPerSource;

        int now = total.incrementAndGet();
        if (now > maxConnections) {
            total.decrementAndGet();
            return "node-wide limit of " + maxConnections + " connections reached";
        }
        if (now > headroomStart && sources.get(source) >= SMALL_SOURCE) {
            total.decrementAndGet();
            return "node above " + headroomStart + " of " + maxConnections + " connections: the rest is reserved for"
                    + " sources with fewer than " + SMALL_SOURCE + " (" + describe(source) + " holds "
                    + sources.get(source) + ")";
        }
        if (!sources.tryAcquire(source, sourceMax)) {
            total.decrementAndGet();
            return "limit of " + sourceMax + " connections for " + describe(source) + " reached";
        }
        String dest = destination == null ? null : destination.key();
        if (dest != null && !destinations.tryAcquire(dest, maxPerWorkload)) {
            sources.release(source);
            total.decrementAndGet();
            return "limit of " + maxPerWorkload + " connections to workload " + dest + " reached";
        }
        (r.direction() == Direction.OUTBOUND ? outbound : inbound).incrementAndGet();
        live.put(r.id(), new Admitted(session, source, dest));
        return null;
    }

    /** For refusals only: an admitted connection builds no text. */
    private static String describe(Object source) {
        return source instanceof java.net.InetAddress ip ? "source " + ip.getHostAddress() : "workload " + source;
    }

    void remove(RelaySession session) {
        ConnectionRecord r = session.record();
        Admitted a = live.remove(r.id());
        if (a == null) {
            return;
        }
        total.decrementAndGet();
        (r.direction() == Direction.OUTBOUND ? outbound : inbound).decrementAndGet();
        sources.release(a.source());
        if (a.destination() != null) {
            destinations.release(a.destination());
        }
    }

    /**
     * An HBONE (15008) TCP connection from {@code source}, counted from accept — before and after its TLS handshake,
     * since a handshake costs a socket and CPU before anyone is authenticated: at most {@link #HBONE_PER_SOURCE} per
     * source IP (a peer node pools one connection per source pod, destination pod and event loop), and at most
     * {@code maxConnections / 4} on the node. The streams inside are admitted one by one by {@link #admit}.
     *
     * @return null when admitted (release it with {@link #releaseHbone} when it closes), else why not
     */
    public String admitHbone(java.net.InetAddress source) {
        if (hbone.incrementAndGet() > maxConnections / 4) {
            hbone.decrementAndGet();
            return "node-wide limit of " + maxConnections / 4 + " HBONE connections reached";
        }
        if (!hboneSources.tryAcquire(source, HBONE_PER_SOURCE)) {
            hbone.decrementAndGet();
            return "limit of " + HBONE_PER_SOURCE + " HBONE connections from " + source.getHostAddress() + " reached";
        }
        return null;
    }

    public void releaseHbone(java.net.InetAddress source) {
        hbone.decrementAndGet();
        hboneSources.release(source);
    }

    /** Keys with open connections now (sources, destinations): bounded by the connections, not by history. */
    int countedKeys() {
        return sources.keys() + destinations.keys();
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
        live.values().forEach(a -> out.add(a.session().record()));
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
        for (Admitted a : live.values()) {
            RelaySession s = a.session();
            AuthzContext c = s.record().authzContext();
            if (c == null) {
                continue;
            }
            // a connection whose requests are checked one by one answers the next request by the new policies
            Decision d = s.record().perRequest() ? engine.strictRefusal(c) : engine.check(c);
            if (d != null && !d.allowed()) {
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
        live.values().forEach(a -> a.session().abortFromAnyThread(reason, detail));
    }
}
