package dev.ferry.mesh.authz;

import java.util.Map;

/**
 * An Istio {@code PeerAuthentication}: whether a workload accepts plaintext. Scope: with a selector, the selected
 * workloads of its namespace; without, the whole namespace — or the whole mesh in the root namespace. The most
 * specific applies (workload, then namespace, then mesh); {@code UNSET} inherits from the next one out; nothing at
 * all means PERMISSIVE. {@code portLevelMtls} overrides the mode for single target ports. An invalid document is
 * enforced as STRICT over its scope (fail closed).
 *
 * @param invalid why the document is invalid; empty when it is valid
 */
public record PeerAuthentication(
        String namespace,
        String name,
        Map<String, String> selector,
        Mode mode,
        Map<Integer, Mode> portModes,
        String invalid) {

    public enum Mode {
        UNSET,
        STRICT,
        PERMISSIVE,
        DISABLE
    }

    public PeerAuthentication {
        selector = Map.copyOf(selector);
        portModes = Map.copyOf(portModes);
    }

    public String key() {
        return namespace + "/" + name;
    }

    public boolean valid() {
        return invalid.isEmpty();
    }

    /** The mode this document sets for {@code port}; UNSET when it leaves it to the next scope out. */
    Mode modeFor(int port) {
        if (!valid()) {
            return Mode.STRICT;
        }
        Mode m = portModes.get(port);
        return m != null && m != Mode.UNSET ? m : mode;
    }

    boolean selects(Map<String, String> labels) {
        return AuthorizationPolicy.selects(selector, labels);
    }
}
