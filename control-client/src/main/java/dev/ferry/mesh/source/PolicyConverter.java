package dev.ferry.mesh.source;

import dev.ferry.mesh.Cidr;
import dev.ferry.mesh.authz.AuthorizationPolicy;
import dev.ferry.mesh.authz.AuthorizationPolicy.Action;
import dev.ferry.mesh.authz.Condition;
import dev.ferry.mesh.authz.Operation;
import dev.ferry.mesh.authz.Rule;
import dev.ferry.mesh.authz.Source;
import dev.ferry.mesh.authz.StringMatch;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import tools.jackson.databind.JsonNode;

/**
 * Reads an Istio {@code security.istio.io} {@code AuthorizationPolicy} document into the model. Every problem is
 * collected with the field's path: unknown fields, fields of Istio's schema that Ferry does not support (never
 * silently ignored), bad values. The policy is returned either way, marked invalid when anything was wrong, so the
 * engine can fail closed (see {@link AuthorizationPolicy}).
 */
final class PolicyConverter {
    private static final Set<String> TOP = Set.of("apiVersion", "kind", "metadata", "spec", "status");
    private static final Set<String> SPEC = Set.of("selector", "action", "rules");
    private static final Set<String> SPEC_UNSUPPORTED = Set.of("provider", "targetRef", "targetRefs");
    private static final Set<String> RULE = Set.of("from", "to", "when");
    private static final Set<String> SOURCE =
            Set.of("principals", "notPrincipals", "namespaces", "notNamespaces", "ipBlocks", "notIpBlocks");
    private static final Set<String> SOURCE_UNSUPPORTED =
            Set.of("requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks");
    private static final Set<String> OPERATION =
            Set.of("ports", "notPorts", "methods", "notMethods", "paths", "notPaths", "hosts", "notHosts");
    private static final Set<String> CONDITION = Set.of("key", "values", "notValues");
    private static final Pattern HEADER_KEY = Pattern.compile("^request\\.headers\\[([A-Za-z0-9!#$%&'*+.^_`|~-]+)]$");

    private final List<String> problems = new ArrayList<>();

    private PolicyConverter() {}

    /** @return the policy, and in {@code problems} what made it invalid (empty when valid) */
    static AuthorizationPolicy convert(JsonNode doc, String namespace, String name, List<String> problems) {
        PolicyConverter c = new PolicyConverter();
        AuthorizationPolicy p = c.read(doc, namespace, name);
        problems.addAll(c.problems);
        return p;
    }

    private AuthorizationPolicy read(JsonNode doc, String namespace, String name) {
        keys(doc, "", TOP, Set.of());
        JsonNode spec = doc.path("spec");
        if (!spec.isMissingNode() && !spec.isNull() && !spec.isObject()) {
            problem("spec", "must be a mapping");
        }
        keys(spec, "spec", SPEC, SPEC_UNSUPPORTED);
        Map<String, String> selector = selector(spec.path("selector"));
        Action action = action(spec.path("action"));
        List<Rule> rules = new ArrayList<>();
        JsonNode rs = list(spec.path("rules"), "spec.rules");
        for (int i = 0; i < rs.size(); i++) {
            rules.add(rule(rs.get(i), "spec.rules[" + i + "]"));
        }
        return new AuthorizationPolicy(
                namespace, name, selector, action, problems.isEmpty() ? rules : List.of(), String.join("; ", problems));
    }

    private Map<String, String> selector(JsonNode sel) {
        return selector(sel, problems);
    }

    /**
     * {@code spec.selector.matchLabels}, shared by Istio's policy kinds. An unreadable selector is reported and read
     * as empty, i.e. "every workload of the namespace" (the document is invalid, so it fails closed over that scope).
     */
    static Map<String, String> selector(JsonNode sel, List<String> problems) {
        if (sel.isMissingNode() || sel.isNull()) {
            return Map.of();
        }
        keys(sel, "spec.selector", Set.of("matchLabels"), Set.of(), problems);
        Map<String, String> labels = new LinkedHashMap<>();
        JsonNode ml = sel.path("matchLabels");
        if (ml.isMissingNode() || ml.isNull()) {
            return labels;
        }
        if (!ml.isObject()) {
            problems.add("field spec.selector.matchLabels: must be a mapping of label to value");
            return Map.of();
        }
        for (Map.Entry<String, JsonNode> e : ml.properties()) {
            if (!e.getValue().isString()) {
                problems.add("field spec.selector.matchLabels." + e.getKey() + ": must be a string");
                return Map.of();
            }
            labels.put(e.getKey(), e.getValue().asString());
        }
        return labels;
    }

    private Action action(JsonNode a) {
        if (a.isMissingNode() || a.isNull()) {
            return Action.ALLOW;
        }
        String v = a.asString("");
        if (v.equals("CUSTOM")) {
            problem("spec.action", "CUSTOM (external authorization) is not supported by Ferry");
            return Action.DENY;
        }
        try {
            return Action.valueOf(v);
        } catch (IllegalArgumentException e) {
            problem("spec.action", "'" + v + "' is not ALLOW, DENY or AUDIT");
            return Action.DENY; // unknown intent: fail closed
        }
    }

    private Rule rule(JsonNode r, String path) {
        keys(r, path, RULE, Set.of());
        List<Source> from = new ArrayList<>();
        JsonNode fs = list(r.path("from"), path + ".from");
        for (int i = 0; i < fs.size(); i++) {
            String p = path + ".from[" + i + "]";
            keys(fs.get(i), p, Set.of("source"), Set.of());
            from.add(source(fs.get(i).path("source"), p + ".source"));
        }
        List<Operation> to = new ArrayList<>();
        JsonNode ts = list(r.path("to"), path + ".to");
        for (int i = 0; i < ts.size(); i++) {
            String p = path + ".to[" + i + "]";
            keys(ts.get(i), p, Set.of("operation"), Set.of());
            to.add(operation(ts.get(i).path("operation"), p + ".operation"));
        }
        List<Condition> when = new ArrayList<>();
        JsonNode ws = list(r.path("when"), path + ".when");
        for (int i = 0; i < ws.size(); i++) {
            when.add(condition(ws.get(i), path + ".when[" + i + "]"));
        }
        return new Rule(from, to, when);
    }

    private Source source(JsonNode s, String path) {
        keys(s, path, SOURCE, SOURCE_UNSUPPORTED);
        return new Source(
                patterns(s, "principals", path),
                patterns(s, "notPrincipals", path),
                patterns(s, "namespaces", path),
                patterns(s, "notNamespaces", path),
                cidrs(s.path("ipBlocks"), path + ".ipBlocks"),
                cidrs(s.path("notIpBlocks"), path + ".notIpBlocks"));
    }

    private Operation operation(JsonNode o, String path) {
        keys(o, path, OPERATION, Set.of());
        return new Operation(
                ports(o.path("ports"), path + ".ports"),
                ports(o.path("notPorts"), path + ".notPorts"),
                patterns(o, "methods", path),
                patterns(o, "notMethods", path),
                patterns(o, "paths", path),
                patterns(o, "notPaths", path),
                patterns(o, "hosts", path),
                patterns(o, "notHosts", path));
    }

    private Condition condition(JsonNode c, String path) {
        keys(c, path, CONDITION, Set.of());
        String keyText = c.path("key").asString("");
        Condition.Key key = null;
        String header = "";
        switch (keyText) {
            case "source.ip" -> key = Condition.Key.SOURCE_IP;
            case "source.namespace" -> key = Condition.Key.SOURCE_NAMESPACE;
            case "source.principal" -> key = Condition.Key.SOURCE_PRINCIPAL;
            case "destination.port" -> key = Condition.Key.DESTINATION_PORT;
            default -> {
                Matcher m = HEADER_KEY.matcher(keyText);
                if (m.matches()) {
                    key = Condition.Key.REQUEST_HEADERS;
                    header = m.group(1).toLowerCase(Locale.ROOT);
                }
            }
        }
        if (key == null) {
            problem(
                    path + ".key",
                    keyText.isEmpty()
                            ? "required"
                            : "'" + keyText + "' is not supported by Ferry (supported: source.ip, source.namespace,"
                                    + " source.principal, destination.port, request.headers[<name>])");
            return new Condition(
                    Condition.Key.SOURCE_IP, "", List.of(), List.of(), List.of(), List.of(), Set.of(), Set.of());
        }
        if (strings(c.path("values"), path + ".values").isEmpty()
                && strings(c.path("notValues"), path + ".notValues").isEmpty()) {
            problem(path, "needs values or notValues");
        }
        return switch (key) {
            case SOURCE_IP ->
                new Condition(
                        key,
                        "",
                        List.of(),
                        List.of(),
                        cidrs(c.path("values"), path + ".values"),
                        cidrs(c.path("notValues"), path + ".notValues"),
                        Set.of(),
                        Set.of());
            case DESTINATION_PORT ->
                new Condition(
                        key,
                        "",
                        List.of(),
                        List.of(),
                        List.of(),
                        List.of(),
                        ports(c.path("values"), path + ".values"),
                        ports(c.path("notValues"), path + ".notValues"));
            default ->
                new Condition(
                        key,
                        header,
                        patterns(c, "values", path),
                        patterns(c, "notValues", path),
                        List.of(),
                        List.of(),
                        Set.of(),
                        Set.of());
        };
    }

    private List<StringMatch> patterns(JsonNode parent, String field, String path) {
        List<StringMatch> out = new ArrayList<>();
        for (String s : strings(parent.path(field), path + "." + field)) {
            out.add(StringMatch.parse(s));
        }
        return out;
    }

    private List<Cidr> cidrs(JsonNode n, String path) {
        List<Cidr> out = new ArrayList<>();
        for (String s : strings(n, path)) {
            try {
                out.add(Cidr.parseIpOrCidr(s.trim()));
            } catch (IllegalArgumentException e) {
                problem(path, e.getMessage());
            }
        }
        return out;
    }

    private Set<Integer> ports(JsonNode n, String path) {
        Set<Integer> out = new HashSet<>();
        for (String s : strings(n, path)) {
            try {
                int p = Integer.parseInt(s.trim());
                if (p < 1 || p > 65535) {
                    throw new NumberFormatException();
                }
                out.add(p);
            } catch (NumberFormatException e) {
                problem(path, "'" + s + "' is not a port number (1-65535)");
            }
        }
        return out;
    }

    /** A list of scalars (numbers are accepted where Istio takes strings, e.g. ports). */
    private List<String> strings(JsonNode n, String path) {
        List<String> out = new ArrayList<>();
        for (JsonNode v : list(n, path)) {
            if (!v.isValueNode() || v.isNull()) {
                problem(path, "must be a list of strings");
                return List.of();
            }
            out.add(v.asString());
        }
        return out;
    }

    private JsonNode list(JsonNode n, String path) {
        if (n.isMissingNode() || n.isNull()) {
            return tools.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        }
        if (!n.isArray()) {
            problem(path, "must be a list");
            return tools.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        }
        return n;
    }

    private void keys(JsonNode n, String path, Set<String> known, Set<String> unsupported) {
        keys(n, path, known, unsupported, problems);
    }

    /** Reports every field of {@code n} that is not {@code known}, naming the unsupported ones as such. */
    static void keys(JsonNode n, String path, Set<String> known, Set<String> unsupported, List<String> problems) {
        if (n.isMissingNode() || n.isNull()) {
            return;
        }
        if (!n.isObject()) {
            problems.add("field " + (path.isEmpty() ? "(document)" : path) + ": must be a mapping");
            return;
        }
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            String field = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
            if (unsupported.contains(e.getKey())) {
                problems.add("field " + field + ": not supported by Ferry");
            } else if (!known.contains(e.getKey())) {
                problems.add("field " + field + ": unknown field");
            }
        }
    }

    private void problem(String field, String why) {
        problems.add("field " + field + ": " + why);
    }
}
