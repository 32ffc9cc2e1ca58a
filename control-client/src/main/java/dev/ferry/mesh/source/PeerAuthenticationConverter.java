package dev.ferry.mesh.source;

import dev.ferry.mesh.authz.PeerAuthentication;
import dev.ferry.mesh.authz.PeerAuthentication.Mode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Reads an Istio {@code PeerAuthentication}: {@code selector.matchLabels}, {@code mtls.mode}, {@code portLevelMtls}
 * (which, as in Istio, needs a selector). Unknown fields and bad values are collected with their path; the document
 * is returned marked invalid, and is then enforced as STRICT (fail closed).
 */
final class PeerAuthenticationConverter {
    private static final Set<String> TOP = Set.of("apiVersion", "kind", "metadata", "spec", "status");
    private static final Set<String> SPEC = Set.of("selector", "mtls", "portLevelMtls");

    private PeerAuthenticationConverter() {}

    static PeerAuthentication convert(JsonNode doc, String namespace, String name, List<String> problems) {
        List<String> p = new ArrayList<>();
        PolicyConverter.keys(doc, "", TOP, Set.of(), p);
        JsonNode spec = doc.path("spec");
        PolicyConverter.keys(spec, "spec", SPEC, Set.of(), p);
        Map<String, String> selector = PolicyConverter.selector(spec.path("selector"), p);
        Mode mode = mode(spec.path("mtls"), "spec.mtls", p);
        Map<Integer, Mode> ports = new HashMap<>();
        JsonNode plm = spec.path("portLevelMtls");
        if (!plm.isMissingNode() && !plm.isNull()) {
            if (!plm.isObject()) {
                p.add("field spec.portLevelMtls: must be a mapping of port to {mode}");
            } else {
                if (selector.isEmpty()) {
                    p.add("field spec.portLevelMtls: needs a selector (as in Istio)");
                }
                for (Map.Entry<String, JsonNode> e : plm.properties()) {
                    try {
                        int port = Integer.parseInt(e.getKey());
                        if (port < 1 || port > 65535) {
                            throw new NumberFormatException();
                        }
                        ports.put(port, mode(e.getValue(), "spec.portLevelMtls." + e.getKey(), p));
                    } catch (NumberFormatException ex) {
                        p.add("field spec.portLevelMtls." + e.getKey() + ": not a port number");
                    }
                }
            }
        }
        problems.addAll(p);
        return new PeerAuthentication(namespace, name, selector, mode, ports, String.join("; ", p));
    }

    private static Mode mode(JsonNode mtls, String path, List<String> p) {
        if (mtls.isMissingNode() || mtls.isNull()) {
            return Mode.UNSET;
        }
        PolicyConverter.keys(mtls, path, Set.of("mode"), Set.of(), p);
        String v = mtls.path("mode").asString("UNSET");
        try {
            return Mode.valueOf(v);
        } catch (IllegalArgumentException e) {
            p.add("field " + path + ".mode: '" + v + "' is not STRICT, PERMISSIVE, DISABLE or UNSET");
            return Mode.STRICT;
        }
    }
}
