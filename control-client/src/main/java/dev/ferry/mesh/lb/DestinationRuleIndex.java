package dev.ferry.mesh.lb;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * DestinationRules by the namespace they are written in and the Service their host names, built once per snapshot:
 * every new connection and every HTTP request asks for its Service's load balancer, and a scan of all the rules (each
 * splitting its host) cost as much per connection as there are rules in the cluster.
 */
public final class DestinationRuleIndex {
    public static final DestinationRuleIndex EMPTY = new DestinationRuleIndex(Map.of());

    /** Rule namespace → Service namespace → Service name → the rules, in the order they were given. */
    private final Map<String, Map<String, Map<String, List<DestinationRule>>>> rules;

    private DestinationRuleIndex(Map<String, Map<String, Map<String, List<DestinationRule>>>> rules) {
        this.rules = rules;
    }

    /** Indexes {@code ordered} (first wins where two select one Service); rules whose host names no Service drop. */
    public static DestinationRuleIndex of(List<DestinationRule> ordered) {
        if (ordered.isEmpty()) {
            return EMPTY;
        }
        Map<String, Map<String, Map<String, List<DestinationRule>>>> m = new HashMap<>();
        for (DestinationRule r : ordered) {
            DestinationRule.Target t = r.target();
            if (t != null) {
                m.computeIfAbsent(r.namespace(), k -> new HashMap<>())
                        .computeIfAbsent(t.namespace(), k -> new HashMap<>())
                        .computeIfAbsent(t.name(), k -> new ArrayList<>())
                        .add(r);
            }
        }
        m.values().forEach(byNs -> byNs.values().forEach(byName -> byName.replaceAll((k, v) -> List.copyOf(v))));
        return new DestinationRuleIndex(m);
    }

    /**
     * The load balancer the first rule in {@code ruleNamespace} that selects the Service and has one for
     * {@code port} names, or null.
     */
    public LoadBalancing find(String ruleNamespace, String serviceNamespace, String serviceName, int port) {
        Map<String, Map<String, List<DestinationRule>>> inNs = rules.get(ruleNamespace);
        if (inNs == null) {
            return null;
        }
        Map<String, List<DestinationRule>> byName = inNs.get(serviceNamespace);
        List<DestinationRule> candidates = byName == null ? null : byName.get(serviceName);
        if (candidates == null) {
            return null;
        }
        for (DestinationRule r : candidates) {
            LoadBalancing lb = r.forPort(port);
            if (lb != null) {
                return lb;
            }
        }
        return null;
    }
}
