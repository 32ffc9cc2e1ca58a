package dev.ferry.mesh.source;

import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Workload;
import java.util.Map;

/**
 * What a {@code v1 Pod} says of itself, validated: the workload as if its namespace were not enrolled, and what
 * decides its membership once the namespaces are known (the Namespace documents may come later in the files).
 *
 * @param completed the pod has finished (phase Succeeded or Failed): it is no workload at all — not an endpoint, not
 *     "uncaptured", owed no certificate — and its IP may already belong to another pod
 */
record PodFacts(Workload workload, boolean optedOut, boolean hostNetwork, boolean completed) {
    Workload in(Map<String, Namespace> namespaces) {
        Namespace ns = namespaces.get(workload.namespace());
        boolean inMesh = ns != null && ns.enrolled() && !optedOut && !hostNetwork;
        if (!inMesh) {
            return workload;
        }
        Workload w = workload;
        return new Workload(
                w.uid(),
                w.name(),
                w.namespace(),
                w.serviceAccount(),
                w.ips(),
                w.node(),
                w.labels(),
                w.namedPorts(),
                true,
                w.ready());
    }
}
