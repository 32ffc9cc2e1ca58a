package dev.ferry.mesh.authz;

import java.util.List;
import java.util.Map;

/**
 * An Istio {@code AuthorizationPolicy} as Ferry enforces it. A document that failed validation is kept, not
 * dropped, with {@code invalid} saying why: an invalid ALLOW (or AUDIT) matches nothing, an invalid DENY matches
 * everything its selector covers (an unreadable action counts as DENY, an unreadable selector as "all workloads of
 * the namespace") — a broken policy fails closed.
 *
 * @param selector {@code spec.selector.matchLabels}; empty selects every workload of the namespace (or of the mesh,
 *     in the root namespace)
 * @param invalid why the document is invalid; empty when it is valid
 */
public record AuthorizationPolicy(
        String namespace, String name, Map<String, String> selector, Action action, List<Rule> rules, String invalid) {

    public enum Action {
        ALLOW,
        DENY,
        AUDIT
    }

    public AuthorizationPolicy {
        selector = Map.copyOf(selector);
        rules = List.copyOf(rules);
    }

    public String key() {
        return namespace + "/" + name;
    }

    public boolean valid() {
        return invalid.isEmpty();
    }

    boolean selects(Map<String, String> labels) {
        return selects(selector, labels);
    }

    /** {@code matchLabels} semantics: every label of the selector, with its value. */
    static boolean selects(Map<String, String> selector, Map<String, String> labels) {
        for (Map.Entry<String, String> e : selector.entrySet()) {
            if (!e.getValue().equals(labels.get(e.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether a rule reads a request's HTTP attributes (methods, paths, hosts, request headers), so that the
     * workload's HTTP ports must be parsed for it to mean what it says. An invalid document reads none: it matches
     * whole connections.
     */
    boolean needsHttp() {
        if (!valid()) {
            return false;
        }
        for (Rule r : rules) {
            if (r.needsHttp()) {
                return true;
            }
        }
        return false;
    }

    /** Whether any rule matches; an ALLOW or DENY without rules matches nothing. */
    boolean matches(AuthzContext ctx) {
        if (!valid()) {
            return action == Action.DENY;
        }
        for (Rule r : rules) {
            if (r.matches(ctx, action)) {
                return true;
            }
        }
        return false;
    }
}
