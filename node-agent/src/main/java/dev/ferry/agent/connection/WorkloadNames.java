package dev.ferry.agent.connection;

import dev.ferry.mesh.Workload;
import java.util.regex.Pattern;

/**
 * Istio's workload name for metrics: the canonical-name label, else {@code app.kubernetes.io/name}, else
 * {@code app}, else the pod name without its ReplicaSet/pod hash suffixes (so all replicas share one series).
 */
public final class WorkloadNames {
    private static final Pattern DEPLOYMENT_POD = Pattern.compile("^(.+)-[a-z0-9]{6,10}-[a-z0-9]{5}$");

    private WorkloadNames() {}

    public static String of(Workload w) {
        for (String label : new String[] {"service.istio.io/canonical-name", "app.kubernetes.io/name", "app"}) {
            String v = w.labels().get(label);
            if (v != null && !v.isEmpty()) {
                return v;
            }
        }
        var m = DEPLOYMENT_POD.matcher(w.name());
        return m.matches() ? m.group(1) : w.name();
    }
}
