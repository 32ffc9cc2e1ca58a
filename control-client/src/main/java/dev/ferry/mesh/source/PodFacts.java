package dev.ferry.mesh.source;

import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Workload;
import java.util.Map;

/**
 * What a {@code v1 Pod} says of itself, validated: the workload as if its namespace were not enrolled, and what
 * decides its membership once the namespaces are known (the Namespace documents may come later in the files).
 * Immutable; the enrolled form of the workload is made once and reused by every state that includes the pod, so a
 * pod costs one {@link Workload}, not one per published version.
 */
final class PodFacts {
    private final Workload workload;
    private final boolean optedOut;
    private final boolean hostNetwork;
    private final boolean completed;
    /** The same workload as a mesh member; made on first need (a benign race: two threads make equal ones). */
    private volatile Workload meshed;

    /**
     * @param completed the pod has finished (phase Succeeded or Failed): it is no workload at all — not an endpoint,
     *     not "uncaptured", owed no certificate — and its IP may already belong to another pod
     */
    PodFacts(Workload workload, boolean optedOut, boolean hostNetwork, boolean completed) {
        this.workload = workload;
        this.optedOut = optedOut;
        this.hostNetwork = hostNetwork;
        this.completed = completed;
    }

    Workload workload() {
        return workload;
    }

    boolean completed() {
        return completed;
    }

    Workload in(Map<String, Namespace> namespaces) {
        Namespace ns = namespaces.get(workload.namespace());
        boolean inMesh = ns != null && ns.enrolled() && !optedOut && !hostNetwork;
        if (!inMesh) {
            return workload;
        }
        Workload m = meshed;
        if (m == null) {
            Workload w = workload;
            m = new Workload(
                    w.uid(),
                    w.name(),
                    w.namespace(),
                    w.serviceAccount(),
                    w.ips(),
                    w.node(),
                    w.labels(),
                    w.namedPorts(),
                    true,
                    w.ready(),
                    w.captured());
            meshed = m;
        }
        return m;
    }
}
