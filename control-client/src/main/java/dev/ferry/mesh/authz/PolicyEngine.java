package dev.ferry.mesh.authz;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Istio's evaluation order, as a pure function of an immutable policy set: AUDIT matches are reported; any matching
 * DENY denies; if no ALLOW policy applies to the workload the connection is allowed; any matching ALLOW allows;
 * otherwise it is denied.
 *
 * <p>Policies are indexed by namespace (the workload's own and the root namespace's apply) and, within one, by one
 * label of their selector, so a check looks only at policies that can select the workload: its cost does not grow
 * with unrelated policies.
 */
public final class PolicyEngine {
    /** Istio's root namespace: its selector-less policies apply mesh-wide. */
    public static final String DEFAULT_ROOT_NAMESPACE = "istio-system";

    private static final PolicyEngine EMPTY = new PolicyEngine(List.of(), List.of(), "");

    private final String rootNamespace;
    private final Map<String, NamespacePolicies> byNamespace;
    private final int size;
    private final Map<String, List<PeerAuthentication>> peerAuthByNamespace;

    private PolicyEngine(
            List<AuthorizationPolicy> policies, List<PeerAuthentication> peerAuthentications, String rootNamespace) {
        this.rootNamespace = rootNamespace;
        Map<String, List<PeerAuthentication>> pa = new HashMap<>();
        for (PeerAuthentication p : peerAuthentications) {
            pa.computeIfAbsent(p.namespace(), k -> new ArrayList<>()).add(p);
        }
        // Several selector policies matching one workload: the first by name decides (deterministic; Istio takes
        // the oldest, which a file of documents does not record).
        pa.values().forEach(l -> l.sort(java.util.Comparator.comparing(PeerAuthentication::name)));
        this.peerAuthByNamespace = Map.copyOf(pa);
        Map<String, List<AuthorizationPolicy>> grouped = new HashMap<>();
        for (AuthorizationPolicy p : policies) {
            grouped.computeIfAbsent(p.namespace(), k -> new ArrayList<>()).add(p);
        }
        Map<String, NamespacePolicies> index = new HashMap<>();
        grouped.forEach((ns, list) -> index.put(ns, new NamespacePolicies(list)));
        this.byNamespace = Map.copyOf(index);
        this.size = policies.size();
    }

    public static PolicyEngine of(List<AuthorizationPolicy> policies, String rootNamespace) {
        return of(policies, List.of(), rootNamespace);
    }

    public static PolicyEngine of(
            List<AuthorizationPolicy> policies, List<PeerAuthentication> peerAuthentications, String rootNamespace) {
        return policies.isEmpty() && peerAuthentications.isEmpty()
                ? EMPTY
                : new PolicyEngine(policies, peerAuthentications, rootNamespace);
    }

    /** The peer-authentication mode in force for the workload's port, and the document that set it. */
    public record MtlsMode(PeerAuthentication.Mode mode, String policy) {}

    public MtlsMode mtlsMode(String namespace, Map<String, String> labels, int port) {
        List<PeerAuthentication> own = peerAuthByNamespace.getOrDefault(namespace, List.of());
        PeerAuthentication.Mode mode = PeerAuthentication.Mode.UNSET;
        String by = "";
        for (PeerAuthentication p : own) { // workload scope
            if (!p.selector().isEmpty() && p.selects(labels)) {
                mode = p.modeFor(port);
                by = p.key();
                break;
            }
        }
        if (mode == PeerAuthentication.Mode.UNSET) { // namespace scope
            for (PeerAuthentication p : own) {
                if (p.selector().isEmpty()) {
                    mode = p.modeFor(port);
                    by = p.key();
                    break;
                }
            }
        }
        if (mode == PeerAuthentication.Mode.UNSET && !namespace.equals(rootNamespace)) { // mesh scope
            for (PeerAuthentication p : peerAuthByNamespace.getOrDefault(rootNamespace, List.of())) {
                if (p.selector().isEmpty()) {
                    mode = p.modeFor(port);
                    by = p.key();
                    break;
                }
            }
        }
        return mode == PeerAuthentication.Mode.UNSET
                ? new MtlsMode(PeerAuthentication.Mode.PERMISSIVE, "")
                : new MtlsMode(mode, by);
    }

    /** The namespace whose policies apply to every workload. */
    public String rootNamespace() {
        return rootNamespace;
    }

    public static PolicyEngine empty() {
        return EMPTY;
    }

    public int size() {
        return size;
    }

    /**
     * Whether a policy selecting the workload reads HTTP attributes: then its HTTP ports are parsed on the inbound
     * path and every request is checked on its own ({@link #check} with {@link AuthzContext#http()} set).
     */
    public boolean needsHttp(String namespace, Map<String, String> labels) {
        for (AuthorizationPolicy p : applicable(namespace, labels)) {
            if (p.needsHttp()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The connection-level refusal that holds whatever a request says: plaintext to a port under STRICT mTLS.
     * Null when there is none.
     */
    public Decision strictRefusal(AuthzContext ctx) {
        if (ctx.sourcePrincipal() == null && !peerAuthByNamespace.isEmpty()) {
            // STRICT is a rule of the engine, as in Istio: plaintext to a STRICT port is denied before any policy.
            MtlsMode m = mtlsMode(ctx.workloadNamespace(), ctx.workloadLabels(), ctx.destinationPort());
            if (m.mode() == PeerAuthentication.Mode.STRICT) {
                return new Decision(
                        false, "plaintext refused: STRICT mTLS (" + m.policy() + ")", m.policy(), List.of());
            }
        }
        return null;
    }

    private List<AuthorizationPolicy> applicable(String namespace, Map<String, String> labels) {
        List<AuthorizationPolicy> applicable = new ArrayList<>(4);
        NamespacePolicies own = byNamespace.get(namespace);
        if (own != null) {
            own.collect(labels, applicable);
        }
        if (!rootNamespace.equals(namespace)) {
            NamespacePolicies root = byNamespace.get(rootNamespace);
            if (root != null) {
                root.collect(labels, applicable);
            }
        }
        return applicable;
    }

    public Decision check(AuthzContext ctx) {
        Decision strict = strictRefusal(ctx);
        if (strict != null) {
            return strict;
        }
        List<AuthorizationPolicy> applicable = applicable(ctx.workloadNamespace(), ctx.workloadLabels());
        if (applicable.isEmpty()) {
            return new Decision(true, "no policy applies", "", List.of());
        }
        List<String> audited = List.of();
        AuthorizationPolicy deny = null;
        AuthorizationPolicy allow = null;
        int allows = 0;
        for (AuthorizationPolicy p : applicable) {
            switch (p.action()) {
                case AUDIT -> {
                    if (p.matches(ctx)) {
                        audited = audited.isEmpty() ? new ArrayList<>() : audited;
                        audited.add(p.key());
                    }
                }
                case DENY -> {
                    if (deny == null && p.matches(ctx)) {
                        deny = p;
                    }
                }
                case ALLOW -> {
                    allows++;
                    if (allow == null && p.matches(ctx)) {
                        allow = p;
                    }
                }
            }
        }
        if (deny != null) {
            String why = deny.valid() ? "denied by " : "denied by invalid policy ";
            return new Decision(false, why + deny.key(), deny.key(), audited);
        }
        if (allows == 0) {
            return new Decision(true, "no ALLOW policy applies", "", audited);
        }
        if (allow != null) {
            return new Decision(true, "allowed by " + allow.key(), allow.key(), audited);
        }
        return new Decision(false, "no ALLOW policy matched (" + allows + " apply)", "", audited);
    }

    /** One namespace's policies: those selecting every workload, and the rest keyed by one selector label. */
    private static final class NamespacePolicies {
        private final List<AuthorizationPolicy> all = new ArrayList<>();
        /** label key → label value → policies whose selector has that label (no string built per check). */
        private final Map<String, Map<String, List<AuthorizationPolicy>>> byLabel = new HashMap<>();

        NamespacePolicies(List<AuthorizationPolicy> policies) {
            for (AuthorizationPolicy p : policies) {
                if (p.selector().isEmpty()) {
                    all.add(p);
                } else {
                    // Any one label works as the key (all must match); the smallest keeps it deterministic.
                    Map.Entry<String, String> first = new TreeMap<>(p.selector()).firstEntry();
                    byLabel.computeIfAbsent(first.getKey(), k -> new HashMap<>())
                            .computeIfAbsent(first.getValue(), v -> new ArrayList<>())
                            .add(p);
                }
            }
        }

        void collect(Map<String, String> labels, List<AuthorizationPolicy> out) {
            out.addAll(all);
            if (byLabel.isEmpty()) {
                return;
            }
            for (Map.Entry<String, String> l : labels.entrySet()) {
                Map<String, List<AuthorizationPolicy>> byValue = byLabel.get(l.getKey());
                List<AuthorizationPolicy> candidates = byValue == null ? null : byValue.get(l.getValue());
                if (candidates != null) {
                    for (AuthorizationPolicy p : candidates) {
                        if (p.selects(labels)) {
                            out.add(p);
                        }
                    }
                }
            }
        }
    }
}
