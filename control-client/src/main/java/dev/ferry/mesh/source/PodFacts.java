package dev.ferry.mesh.source;

import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Workload;
import java.util.Map;

/**
 * What a {@code v1 Pod} says of itself, validated: the workload as if its namespace were not enrolled, and what
 * decides its membership once the namespaces are known (the Namespace documents may come later in the files).
 */
record PodFacts(Workload workload, boolean optedOut, boolean hostNetwork) {
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
