package dev.ferry.mesh.source;

import dev.ferry.mesh.lb.DestinationRule;
import dev.ferry.mesh.lb.LoadBalancing;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * Reads an Istio {@code networking.istio.io} {@code DestinationRule} into the part Ferry enforces, the load
 * balancer. Fields of Istio's schema that Ferry does not enforce (subsets, TLS settings, connection pools, outlier
 * detection) are errors naming the field, never silently ignored: an invalid rule is not used, and its Service keeps
 * the default (least-request) or the rule's last good version.
 */
final class DestinationRuleConverter {
    /** Ferry's own algorithm, named where Istio's schema has no value for it. */
    static final String ANNOTATION = "ferry.dev/load-balancer";

    private static final Set<String> TOP = Set.of("apiVersion", "kind", "metadata", "spec", "status");
    private static final Set<String> SPEC = Set.of("host", "trafficPolicy");
    private static final Set<String> SPEC_UNSUPPORTED = Set.of("subsets", "exportTo", "workloadSelector");
    private static final Set<String> POLICY = Set.of("loadBalancer", "portLevelSettings");
    private static final Set<String> POLICY_UNSUPPORTED =
            Set.of("connectionPool", "outlierDetection", "tls", "proxyProtocol", "tunnel");
    private static final Set<String> PORT_POLICY = Set.of("port", "loadBalancer");
    private static final Set<String> PORT_POLICY_UNSUPPORTED = Set.of("connectionPool", "outlierDetection", "tls");
    private static final Set<String> PORT = Set.of("number");
    private static final Set<String> LB = Set.of("simple", "consistentHash");
    private static final Set<String> LB_UNSUPPORTED = Set.of("localityLbSetting", "warmupDurationSecs", "warmup");
    private static final Set<String> HASH =
            Set.of("httpHeaderName", "useSourceIp", "httpQueryParameterName", "ringHash", "maglev", "minimumRingSize");
    private static final Set<String> HASH_UNSUPPORTED = Set.of("httpCookie");
    private static final Set<String> RING = Set.of("minimumRingSize");
    private static final Set<String> MAGLEV = Set.of("tableSize");
    /** An RFC 1123 DNS name, or a wildcard (not supported, reported as such). */
    private static final Pattern HOST =
            Pattern.compile("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$");

    static final int DEFAULT_RING = 1024;
    static final int MAX_RING = 65536;
    static final int DEFAULT_MAGLEV = 65537;
    static final int MAX_MAGLEV = 131071;

    private final List<String> problems;

    private DestinationRuleConverter(List<String> problems) {
        this.problems = problems;
    }

    /** The rule; {@code problems} gets one entry per bad field (the rule must then not be used). */
    static DestinationRule convert(JsonNode doc, String namespace, String name, List<String> problems) {
        return new DestinationRuleConverter(problems).rule(doc, namespace, name);
    }

    private DestinationRule rule(JsonNode doc, String namespace, String name) {
        PolicyConverter.keys(doc, "", TOP, Set.of(), problems);
        JsonNode spec = doc.path("spec");
        PolicyConverter.keys(spec, "spec", SPEC, SPEC_UNSUPPORTED, problems);
        String host = null;
        JsonNode h = spec.path("host");
        if (!h.isString() || h.asString().isEmpty()) {
            problem("spec.host", "required: a Service's name");
        } else if (!HOST.matcher(h.asString()).matches()) {
            problem(
                    "spec.host",
                    "must be a Service's name (short or full; wildcards are not supported): '" + h.asString() + "'");
        } else {
            host = h.asString();
        }
        JsonNode tp = spec.path("trafficPolicy");
        PolicyConverter.keys(tp, "spec.trafficPolicy", POLICY, POLICY_UNSUPPORTED, problems);
        LoadBalancing all = tp.has("loadBalancer")
                ? loadBalancer(tp.path("loadBalancer"), "spec.trafficPolicy.loadBalancer")
                : null;
        String annotation =
                doc.path("metadata").path("annotations").path(ANNOTATION).asString(null);
        if (annotation != null) {
            if (!annotation.equals("peak-ewma")) {
                problem("metadata.annotations." + ANNOTATION, "must be peak-ewma, not '" + annotation + "'");
            } else if (all instanceof LoadBalancing.ConsistentHash) {
                problem(
                        "metadata.annotations." + ANNOTATION,
                        "conflicts with trafficPolicy.loadBalancer.consistentHash");
            } else {
                all = LoadBalancing.Simple.PEAK_EWMA;
            }
        }
        Map<Integer, LoadBalancing> ports = new LinkedHashMap<>();
        JsonNode pls = tp.path("portLevelSettings");
        if (!pls.isMissingNode() && !pls.isArray()) {
            problem("spec.trafficPolicy.portLevelSettings", "must be a list");
        }
        for (int i = 0; pls.isArray() && i < pls.size(); i++) {
            String path = "spec.trafficPolicy.portLevelSettings[" + i + "]";
            JsonNode p = pls.get(i);
            PolicyConverter.keys(p, path, PORT_POLICY, PORT_POLICY_UNSUPPORTED, problems);
            PolicyConverter.keys(p.path("port"), path + ".port", PORT, Set.of(), problems);
            JsonNode number = p.path("port").path("number");
            if (!number.isInt() || number.asInt() < 1 || number.asInt() > 65535) {
                problem(path + ".port.number", "required: a port number from 1 to 65535");
                continue;
            }
            if (!p.has("loadBalancer")) {
                continue;
            }
            LoadBalancing lb = loadBalancer(p.path("loadBalancer"), path + ".loadBalancer");
            if (lb != null && ports.put(number.asInt(), lb) != null) {
                problem(path + ".port.number", "port " + number.asInt() + " is set twice");
            }
        }
        return new DestinationRule(namespace, name, host == null ? "" : host, all, ports);
    }

    private LoadBalancing loadBalancer(JsonNode lb, String path) {
        PolicyConverter.keys(lb, path, LB, LB_UNSUPPORTED, problems);
        if (lb.has("simple") && lb.has("consistentHash")) {
            problem(path, "simple and consistentHash are exclusive");
            return null;
        }
        if (lb.has("consistentHash")) {
            return consistentHash(lb.path("consistentHash"), path + ".consistentHash");
        }
        if (!lb.has("simple")) {
            return null;
        }
        String s = lb.path("simple").asString("");
        return switch (s) {
            case "UNSPECIFIED" -> null;
            case "ROUND_ROBIN" -> LoadBalancing.Simple.ROUND_ROBIN;
            case "LEAST_REQUEST", "LEAST_CONN" -> LoadBalancing.Simple.LEAST_REQUEST; // LEAST_CONN: Istio's old name
            case "RANDOM" -> LoadBalancing.Simple.RANDOM;
            case "PASSTHROUGH" -> {
                problem(path + ".simple", "PASSTHROUGH is not supported by Ferry");
                yield null;
            }
            default -> {
                problem(
                        path + ".simple",
                        "must be one of UNSPECIFIED, ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN, RANDOM, not '" + s + "'");
                yield null;
            }
        };
    }

    private LoadBalancing consistentHash(JsonNode ch, String path) {
        PolicyConverter.keys(ch, path, HASH, HASH_UNSUPPORTED, problems);
        LoadBalancing.HashKey key = null;
        int keys = 0;
        if (ch.has("httpHeaderName")) {
            keys++;
            key = new LoadBalancing.HashKey.Header(nonEmpty(ch.path("httpHeaderName"), path + ".httpHeaderName"));
        }
        if (ch.has("httpQueryParameterName")) {
            keys++;
            key = new LoadBalancing.HashKey.QueryParameter(
                    nonEmpty(ch.path("httpQueryParameterName"), path + ".httpQueryParameterName"));
        }
        if (ch.has("useSourceIp")) {
            if (!ch.path("useSourceIp").isBoolean()) {
                problem(path + ".useSourceIp", "must be true or false");
            } else if (ch.path("useSourceIp").asBoolean(false)) {
                keys++;
                key = new LoadBalancing.HashKey.SourceIp();
            }
        }
        if (keys != 1) {
            problem(path, "needs exactly one of httpHeaderName, httpQueryParameterName, useSourceIp: true");
            return null;
        }
        int tables = (ch.has("ringHash") ? 1 : 0) + (ch.has("maglev") ? 1 : 0) + (ch.has("minimumRingSize") ? 1 : 0);
        if (tables > 1) {
            problem(path, "ringHash, maglev and minimumRingSize are exclusive");
            return null;
        }
        if (ch.has("maglev")) {
            PolicyConverter.keys(ch.path("maglev"), path + ".maglev", MAGLEV, Set.of(), problems);
            int size = DEFAULT_MAGLEV;
            JsonNode t = ch.path("maglev").path("tableSize");
            if (!t.isMissingNode()) {
                if (!t.canConvertToInt()
                        || t.asInt() < 2
                        || t.asInt() > MAX_MAGLEV
                        || !BigInteger.valueOf(t.asInt()).isProbablePrime(30)) {
                    problem(path + ".maglev.tableSize", "must be a prime of at most " + MAX_MAGLEV);
                    return null;
                }
                size = t.asInt();
            }
            return new LoadBalancing.ConsistentHash(key, LoadBalancing.Table.MAGLEV, size);
        }
        JsonNode min = ch.has("ringHash") ? ch.path("ringHash").path("minimumRingSize") : ch.path("minimumRingSize");
        if (ch.has("ringHash")) {
            PolicyConverter.keys(ch.path("ringHash"), path + ".ringHash", RING, Set.of(), problems);
        }
        int size = DEFAULT_RING;
        if (!min.isMissingNode()) {
            if (!min.canConvertToInt() || min.asInt() < 1 || min.asInt() > MAX_RING) {
                problem(path + ".ringHash.minimumRingSize", "must be from 1 to " + MAX_RING);
                return null;
            }
            size = min.asInt();
        }
        return new LoadBalancing.ConsistentHash(key, LoadBalancing.Table.RING_HASH, size);
    }

    private String nonEmpty(JsonNode n, String path) {
        if (!n.isString() || n.asString().isEmpty()) {
            problem(path, "must be a non-empty string");
            return "";
        }
        return n.asString();
    }

    private void problem(String field, String why) {
        problems.add("field " + field + ": " + why);
    }
}
