package dev.ferry.mesh.source;

import dev.ferry.mesh.route.HttpFilter;
import dev.ferry.mesh.route.HttpMatch;
import dev.ferry.mesh.route.HttpMatch.PathMatch;
import dev.ferry.mesh.route.HttpMatch.ValueMatch;
import dev.ferry.mesh.route.HttpRoute;
import dev.ferry.mesh.route.HttpRouteRule;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.JsonNodeFactory;

/**
 * Reads a Gateway API {@code HTTPRoute} or {@code GRPCRoute} (GAMMA: parents are Services) into the model. Every
 * problem is collected with its field's path — unknown fields, fields of the spec Ferry does not implement (never
 * silently ignored), bad values — and a route with any problem is not used (its last good version is kept).
 */
final class RouteConverter {
    private static final Set<String> TOP = Set.of("apiVersion", "kind", "metadata", "spec", "status");
    private static final Set<String> SPEC = Set.of("parentRefs", "hostnames", "rules");
    private static final Set<String> PARENT = Set.of("group", "kind", "namespace", "name", "port");
    private static final Set<String> PARENT_UNSUPPORTED = Set.of("sectionName");
    private static final Set<String> RULE = Set.of("name", "matches", "filters", "backendRefs", "timeouts", "retry");
    private static final Set<String> RULE_UNSUPPORTED = Set.of("sessionPersistence");
    private static final Set<String> GRPC_RULE = Set.of("name", "matches", "filters", "backendRefs");
    private static final Set<String> MATCH = Set.of("path", "headers", "queryParams", "method");
    private static final Set<String> GRPC_MATCH = Set.of("method", "headers");
    private static final Set<String> TYPED_VALUE = Set.of("type", "value");
    private static final Set<String> NAMED_VALUE = Set.of("type", "name", "value");
    private static final Set<String> FILTER =
            Set.of("type", "requestHeaderModifier", "responseHeaderModifier", "urlRewrite", "requestRedirect");
    private static final Set<String> FILTER_UNSUPPORTED = Set.of("requestMirror", "extensionRef", "cors");
    private static final Set<String> HEADER_MODIFIER = Set.of("set", "add", "remove");
    private static final Set<String> BACKEND = Set.of("group", "kind", "namespace", "name", "port", "weight");
    private static final Set<String> BACKEND_UNSUPPORTED = Set.of("filters");
    private static final Set<String> TIMEOUTS = Set.of("request", "backendRequest");
    private static final Set<String> RETRY = Set.of("codes", "attempts", "backoff");
    private static final Set<String> METHODS =
            Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH");
    /** Gateway API's duration: 1 to 4 parts of up to 5 digits with a unit, e.g. {@code 1h30m}, {@code 500ms}. */
    private static final Pattern DURATION = Pattern.compile("^([0-9]{1,5}(h|m|s|ms)){1,4}$");

    private static final Pattern DURATION_PART = Pattern.compile("([0-9]{1,5})(h|ms|m|s)");
    private static final Pattern HEADER_NAME = Pattern.compile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]{1,256}$");

    private final List<String> problems = new ArrayList<>();
    private final boolean grpc;

    private RouteConverter(boolean grpc) {
        this.grpc = grpc;
    }

    /** @return the route, and in {@code problems} what makes it unusable (empty when valid) */
    static HttpRoute convert(JsonNode doc, String namespace, String name, boolean grpc, List<String> problems) {
        RouteConverter c = new RouteConverter(grpc);
        HttpRoute r = c.read(doc, namespace, name);
        problems.addAll(c.problems);
        return r;
    }

    private HttpRoute read(JsonNode doc, String namespace, String name) {
        PolicyConverter.keys(doc, "", TOP, Set.of(), problems);
        JsonNode spec = doc.path("spec");
        PolicyConverter.keys(spec, "spec", SPEC, Set.of(), problems);
        List<HttpRoute.ParentRef> parents = new ArrayList<>();
        JsonNode ps = list(spec.path("parentRefs"), "spec.parentRefs");
        for (int i = 0; i < ps.size(); i++) {
            HttpRoute.ParentRef p = parent(ps.get(i), "spec.parentRefs[" + i + "]", namespace);
            if (p != null) {
                parents.add(p);
            }
        }
        if (ps.isEmpty()) {
            problem("spec.parentRefs", "required: a mesh route attaches to a Service");
        }
        JsonNode hs = list(spec.path("hostnames"), "spec.hostnames");
        for (int i = 0; i < hs.size(); i++) {
            text(hs.get(i), "spec.hostnames[" + i + "]"); // accepted; a mesh route is chosen by its parent Service
        }
        List<HttpRouteRule> rules = new ArrayList<>();
        JsonNode rs = list(spec.path("rules"), "spec.rules");
        Set<String> ruleNames = new LinkedHashSet<>();
        for (int i = 0; i < rs.size(); i++) {
            HttpRouteRule rule = rule(rs.get(i), "spec.rules[" + i + "]", namespace);
            if (rule.name() != null && !ruleNames.add(rule.name())) {
                problem("spec.rules[" + i + "].name", "'" + rule.name() + "' is used by another rule");
            }
            rules.add(rule);
        }
        if (rs.isEmpty()) {
            // the spec's default: one rule that sends everything to the parent... which a mesh route cannot name
            problem("spec.rules", "required: at least one rule with backendRefs");
        }
        Instant created = null;
        JsonNode ts = doc.path("metadata").path("creationTimestamp");
        if (ts.isString()) {
            try {
                created = Instant.parse(ts.asString());
            } catch (DateTimeParseException e) {
                problem("metadata.creationTimestamp", "not an RFC 3339 time: '" + ts.asString() + "'");
            }
        }
        return new HttpRoute(namespace, name, created, parents, rules, grpc);
    }

    private HttpRoute.ParentRef parent(JsonNode p, String path, String routeNamespace) {
        PolicyConverter.keys(p, path, PARENT, PARENT_UNSUPPORTED, problems);
        String group = p.path("group").asString("");
        String kind = p.path("kind").asString("");
        if (!group.isEmpty() || !"Service".equals(kind)) {
            problem(
                    path,
                    "only a Service (group \"\", kind Service) is a mesh parent; got group '" + group + "' kind '"
                            + kind + "'");
            return null;
        }
        String name = text(p.path("name"), path + ".name");
        if (name == null) {
            return null;
        }
        String ns = p.has("namespace") ? text(p.path("namespace"), path + ".namespace") : routeNamespace;
        Integer port = p.has("port") ? port(p.path("port"), path + ".port") : null;
        return ns == null ? null : new HttpRoute.ParentRef(ns, name, port);
    }

    private HttpRouteRule rule(JsonNode r, String path, String namespace) {
        PolicyConverter.keys(
                r, path, grpc ? GRPC_RULE : RULE, grpc ? Set.of("sessionPersistence") : RULE_UNSUPPORTED, problems);
        String name = r.has("name") ? text(r.path("name"), path + ".name") : null;
        List<HttpMatch> matches = new ArrayList<>();
        JsonNode ms = list(r.path("matches"), path + ".matches");
        for (int i = 0; i < ms.size(); i++) {
            matches.add(
                    grpc
                            ? grpcMatch(ms.get(i), path + ".matches[" + i + "]")
                            : match(ms.get(i), path + ".matches[" + i + "]"));
        }
        List<HttpFilter> filters = new ArrayList<>();
        JsonNode fs = list(r.path("filters"), path + ".filters");
        for (int i = 0; i < fs.size(); i++) {
            HttpFilter f = filter(fs.get(i), path + ".filters[" + i + "]");
            if (f != null) {
                filters.add(f);
            }
        }
        long redirects = filters.stream()
                .filter(f -> f instanceof HttpFilter.RequestRedirect)
                .count();
        long rewrites =
                filters.stream().filter(f -> f instanceof HttpFilter.UrlRewrite).count();
        if (redirects > 0 && rewrites > 0) {
            problem(path + ".filters", "RequestRedirect and URLRewrite cannot be used together");
        }
        if (redirects > 1 || rewrites > 1) {
            problem(path + ".filters", "at most one RequestRedirect and one URLRewrite per rule");
        }
        List<HttpRouteRule.Backend> backends = new ArrayList<>();
        JsonNode bs = list(r.path("backendRefs"), path + ".backendRefs");
        for (int i = 0; i < bs.size(); i++) {
            HttpRouteRule.Backend b = backend(bs.get(i), path + ".backendRefs[" + i + "]", namespace);
            if (b != null) {
                backends.add(b);
            }
        }
        if (bs.isEmpty() && redirects == 0) {
            problem(path + ".backendRefs", "required unless the rule redirects");
        }
        HttpRouteRule.Timeouts timeouts = r.has("timeouts") ? timeouts(r.path("timeouts"), path + ".timeouts") : null;
        HttpRouteRule.Retry retry = r.has("retry") ? retry(r.path("retry"), path + ".retry") : null;
        return new HttpRouteRule(name, matches, filters, backends, timeouts, retry);
    }

    private HttpMatch match(JsonNode m, String path) {
        PolicyConverter.keys(m, path, MATCH, Set.of(), problems);
        PathMatch pm = HttpMatch.ANY_PATH;
        if (m.has("path")) {
            JsonNode p = m.path("path");
            PolicyConverter.keys(p, path + ".path", TYPED_VALUE, Set.of(), problems);
            String type = word(p.path("type"), "PathPrefix");
            String value = p.has("value") ? text(p.path("value"), path + ".path.value") : "/";
            if (value != null) {
                pm = switch (type) {
                    case "Exact", "PathPrefix" -> {
                        if (!value.startsWith("/")) {
                            problem(path + ".path.value", "must start with '/'");
                        }
                        yield new PathMatch(
                                "Exact".equals(type) ? PathMatch.Type.EXACT : PathMatch.Type.PREFIX, value, null);
                    }
                    case "RegularExpression" ->
                        new PathMatch(PathMatch.Type.REGEX, value, regex(value, path + ".path.value"));
                    default -> {
                        problem(
                                path + ".path.type",
                                "must be Exact, PathPrefix or RegularExpression, not '" + type + "'");
                        yield HttpMatch.ANY_PATH;
                    }
                };
            }
        }
        List<ValueMatch> headers = values(m.path("headers"), path + ".headers", true);
        List<ValueMatch> query = values(m.path("queryParams"), path + ".queryParams", false);
        String method = null;
        if (m.has("method")) {
            method = text(m.path("method"), path + ".method");
            if (method != null && !METHODS.contains(method)) {
                problem(path + ".method", "'" + method + "' is not one of " + new java.util.TreeSet<>(METHODS));
            }
        }
        return new HttpMatch(pm, headers, query, method);
    }

    /** GRPCRoute's method match as the HTTP/2 path it means: {@code /service/method}. */
    private HttpMatch grpcMatch(JsonNode m, String path) {
        PolicyConverter.keys(m, path, GRPC_MATCH, Set.of(), problems);
        PathMatch pm = HttpMatch.ANY_PATH;
        if (m.has("method")) {
            JsonNode mm = m.path("method");
            PolicyConverter.keys(mm, path + ".method", Set.of("type", "service", "method"), Set.of(), problems);
            String type = word(mm.path("type"), "Exact");
            String service = mm.has("service") ? text(mm.path("service"), path + ".method.service") : null;
            String method = mm.has("method") ? text(mm.path("method"), path + ".method.method") : null;
            if (service == null && method == null) {
                problem(path + ".method", "needs a service, a method or both");
            } else if ("Exact".equals(type)) {
                if (service != null && method != null) {
                    pm = new PathMatch(PathMatch.Type.EXACT, "/" + service + "/" + method, null);
                } else if (service != null) {
                    pm = new PathMatch(PathMatch.Type.PREFIX, "/" + service, null);
                } else {
                    String re = "/[^/]+/" + Pattern.quote(method);
                    pm = new PathMatch(PathMatch.Type.REGEX, re, Pattern.compile(re));
                }
            } else if ("RegularExpression".equals(type)) {
                String re = "/" + (service == null ? "[^/]+" : service) + "/" + (method == null ? "[^/]+" : method);
                pm = new PathMatch(PathMatch.Type.REGEX, re, regex(re, path + ".method"));
            } else {
                problem(path + ".method.type", "must be Exact or RegularExpression, not '" + type + "'");
            }
        }
        List<ValueMatch> headers = values(m.path("headers"), path + ".headers", true);
        return new HttpMatch(pm, headers, List.of(), null);
    }

    private List<ValueMatch> values(JsonNode n, String path, boolean header) {
        List<ValueMatch> out = new ArrayList<>();
        JsonNode list = list(n, path);
        Set<String> seen = new LinkedHashSet<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode v = list.get(i);
            String at = path + "[" + i + "]";
            PolicyConverter.keys(v, at, NAMED_VALUE, Set.of(), problems);
            String name = text(v.path("name"), at + ".name");
            String value = text(v.path("value"), at + ".value");
            String type = word(v.path("type"), "Exact");
            if (name == null || value == null) {
                continue;
            }
            if (header && !HEADER_NAME.matcher(name).matches()) {
                problem(at + ".name", "not a header name: '" + name + "'");
                continue;
            }
            String key = header ? name.toLowerCase(Locale.ROOT) : name;
            if (!seen.add(key)) {
                continue; // the spec: later matches of a name already matched are ignored
            }
            switch (type) {
                case "Exact" -> out.add(new ValueMatch(key, false, value, null));
                case "RegularExpression" -> out.add(new ValueMatch(key, true, value, regex(value, at + ".value")));
                default -> problem(at + ".type", "must be Exact or RegularExpression, not '" + type + "'");
            }
        }
        return out;
    }

    private HttpFilter filter(JsonNode f, String path) {
        PolicyConverter.keys(f, path, FILTER, FILTER_UNSUPPORTED, problems);
        String type = f.path("type").asString("");
        return switch (type) {
            case "RequestHeaderModifier" ->
                headerModifier(f.path("requestHeaderModifier"), path + ".requestHeaderModifier", false);
            case "ResponseHeaderModifier" ->
                headerModifier(f.path("responseHeaderModifier"), path + ".responseHeaderModifier", true);
            case "URLRewrite" -> {
                if (grpc) {
                    problem(path + ".type", "URLRewrite is not a GRPCRoute filter");
                    yield null;
                }
                JsonNode u = f.path("urlRewrite");
                PolicyConverter.keys(u, path + ".urlRewrite", Set.of("hostname", "path"), Set.of(), problems);
                String host = u.has("hostname") ? text(u.path("hostname"), path + ".urlRewrite.hostname") : null;
                HttpFilter.PathModifier pm =
                        u.has("path") ? pathModifier(u.path("path"), path + ".urlRewrite.path") : null;
                yield new HttpFilter.UrlRewrite(host, pm);
            }
            case "RequestRedirect" -> {
                if (grpc) {
                    problem(path + ".type", "RequestRedirect is not a GRPCRoute filter");
                    yield null;
                }
                JsonNode r = f.path("requestRedirect");
                PolicyConverter.keys(
                        r,
                        path + ".requestRedirect",
                        Set.of("scheme", "hostname", "port", "path", "statusCode"),
                        Set.of(),
                        problems);
                String scheme = r.has("scheme") ? text(r.path("scheme"), path + ".requestRedirect.scheme") : null;
                if (scheme != null && !scheme.equals("http") && !scheme.equals("https")) {
                    problem(path + ".requestRedirect.scheme", "must be http or https");
                }
                String host = r.has("hostname") ? text(r.path("hostname"), path + ".requestRedirect.hostname") : null;
                Integer port = r.has("port") ? port(r.path("port"), path + ".requestRedirect.port") : null;
                HttpFilter.PathModifier pm =
                        r.has("path") ? pathModifier(r.path("path"), path + ".requestRedirect.path") : null;
                int status = 302;
                if (r.has("statusCode")) {
                    JsonNode s = r.path("statusCode");
                    if (!s.isInt() || !Set.of(301, 302, 303, 307, 308).contains(s.asInt())) {
                        problem(path + ".requestRedirect.statusCode", "must be 301, 302, 303, 307 or 308");
                    } else {
                        status = s.asInt();
                    }
                }
                yield new HttpFilter.RequestRedirect(scheme, host, port, pm, status);
            }
            case "RequestMirror", "ExtensionRef", "CORS", "ExternalAuth" -> {
                problem(path + ".type", type + " is not supported by Ferry");
                yield null;
            }
            default -> {
                problem(path + ".type", "unknown filter type '" + type + "'");
                yield null;
            }
        };
    }

    private HttpFilter.HeaderModifier headerModifier(JsonNode m, String path, boolean response) {
        PolicyConverter.keys(m, path, HEADER_MODIFIER, Set.of(), problems);
        Map<String, String> set = headerList(m.path("set"), path + ".set");
        Map<String, String> add = headerList(m.path("add"), path + ".add");
        List<String> remove = new ArrayList<>();
        JsonNode rs = list(m.path("remove"), path + ".remove");
        for (int i = 0; i < rs.size(); i++) {
            String n = text(rs.get(i), path + ".remove[" + i + "]");
            if (n != null) {
                if (!HEADER_NAME.matcher(n).matches()) {
                    problem(path + ".remove[" + i + "]", "not a header name: '" + n + "'");
                } else {
                    remove.add(n);
                }
            }
        }
        return new HttpFilter.HeaderModifier(response, set, add, remove);
    }

    private Map<String, String> headerList(JsonNode n, String path) {
        Map<String, String> out = new LinkedHashMap<>();
        JsonNode list = list(n, path);
        for (int i = 0; i < list.size(); i++) {
            String at = path + "[" + i + "]";
            PolicyConverter.keys(list.get(i), at, Set.of("name", "value"), Set.of(), problems);
            String name = text(list.get(i).path("name"), at + ".name");
            String value = text(list.get(i).path("value"), at + ".value");
            if (name == null || value == null) {
                continue;
            }
            if (!HEADER_NAME.matcher(name).matches()) {
                problem(at + ".name", "not a header name: '" + name + "'");
            } else if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) {
                problem(at + ".value", "may not contain CR, LF or NUL");
            } else {
                out.put(name, value);
            }
        }
        return out;
    }

    private HttpFilter.PathModifier pathModifier(JsonNode p, String path) {
        PolicyConverter.keys(p, path, Set.of("type", "replaceFullPath", "replacePrefixMatch"), Set.of(), problems);
        String type = p.path("type").asString("");
        return switch (type) {
            case "ReplaceFullPath" -> {
                String v = text(p.path("replaceFullPath"), path + ".replaceFullPath");
                yield v == null ? null : new HttpFilter.PathModifier(true, v);
            }
            case "ReplacePrefixMatch" -> {
                String v = text(p.path("replacePrefixMatch"), path + ".replacePrefixMatch");
                yield v == null ? null : new HttpFilter.PathModifier(false, v);
            }
            default -> {
                problem(path + ".type", "must be ReplaceFullPath or ReplacePrefixMatch, not '" + type + "'");
                yield null;
            }
        };
    }

    private HttpRouteRule.Backend backend(JsonNode b, String path, String routeNamespace) {
        PolicyConverter.keys(b, path, BACKEND, BACKEND_UNSUPPORTED, problems);
        String group = b.path("group").asString("");
        String kind = word(b.path("kind"), "Service");
        if (!group.isEmpty() || !"Service".equals(kind)) {
            problem(path, "only Service backends are supported; got group '" + group + "' kind '" + kind + "'");
            return null;
        }
        String name = text(b.path("name"), path + ".name");
        String ns = b.has("namespace") ? text(b.path("namespace"), path + ".namespace") : routeNamespace;
        if (ns != null && !ns.equals(routeNamespace)) {
            // a cross-namespace backend needs a ReferenceGrant, which Ferry does not read yet
            problem(path + ".namespace", "backends in another namespace need a ReferenceGrant, which is not supported");
            return null;
        }
        if (!b.has("port")) {
            problem(path + ".port", "required for a Service backend");
            return null;
        }
        Integer port = port(b.path("port"), path + ".port");
        int weight = 1;
        if (b.has("weight")) {
            JsonNode w = b.path("weight");
            if (!w.isInt() || w.asInt() < 0 || w.asInt() > 1_000_000) {
                problem(path + ".weight", "must be an integer from 0 to 1000000");
            } else {
                weight = w.asInt();
            }
        }
        return name == null || port == null ? null : new HttpRouteRule.Backend(ns, name, port, weight);
    }

    private HttpRouteRule.Timeouts timeouts(JsonNode t, String path) {
        PolicyConverter.keys(t, path, TIMEOUTS, Set.of(), problems);
        Duration request = t.has("request") ? duration(t.path("request"), path + ".request") : null;
        Duration backend =
                t.has("backendRequest") ? duration(t.path("backendRequest"), path + ".backendRequest") : null;
        if (request != null && backend != null && !request.isZero() && backend.compareTo(request) > 0) {
            problem(path + ".backendRequest", "must not be longer than timeouts.request");
        }
        return new HttpRouteRule.Timeouts(zeroIsNone(request), zeroIsNone(backend));
    }

    /** Gateway API: a zero timeout disables it. */
    private static Duration zeroIsNone(Duration d) {
        return d == null || d.isZero() ? null : d;
    }

    private HttpRouteRule.Retry retry(JsonNode r, String path) {
        PolicyConverter.keys(r, path, RETRY, Set.of(), problems);
        Set<Integer> codes = new LinkedHashSet<>();
        JsonNode cs = list(r.path("codes"), path + ".codes");
        for (int i = 0; i < cs.size(); i++) {
            JsonNode c = cs.get(i);
            if (!c.isInt() || c.asInt() < 400 || c.asInt() > 599) {
                problem(path + ".codes[" + i + "]", "must be an HTTP status from 400 to 599");
            } else {
                codes.add(c.asInt());
            }
        }
        int attempts = 2; // unset: implementation-specific; two retries, as Istio and Envoy Gateway default to
        if (r.has("attempts")) {
            JsonNode a = r.path("attempts");
            if (!a.isInt() || a.asInt() < 0 || a.asInt() > 10) {
                problem(path + ".attempts", "must be an integer from 0 to 10");
            } else {
                attempts = a.asInt();
            }
        }
        Duration backoff = r.has("backoff") ? duration(r.path("backoff"), path + ".backoff") : null;
        return new HttpRouteRule.Retry(codes, attempts, backoff == null ? Duration.ofMillis(25) : backoff);
    }

    private Duration duration(JsonNode n, String path) {
        String s = text(n, path);
        if (s == null) {
            return null;
        }
        if (!DURATION.matcher(s).matches()) {
            problem(path, "not a Gateway API duration (e.g. 10s, 500ms, 1h30m): '" + s + "'");
            return null;
        }
        Duration d = Duration.ZERO;
        Matcher m = DURATION_PART.matcher(s);
        while (m.find()) {
            long v = Long.parseLong(m.group(1));
            d = d.plus(
                    switch (m.group(2)) {
                        case "h" -> Duration.ofHours(v);
                        case "m" -> Duration.ofMinutes(v);
                        case "s" -> Duration.ofSeconds(v);
                        default -> Duration.ofMillis(v);
                    });
        }
        return d;
    }

    private Pattern regex(String re, String path) {
        try {
            return Pattern.compile(re);
        } catch (PatternSyntaxException e) {
            problem(path, "not a regular expression: " + e.getDescription());
            return Pattern.compile("(?!)"); // never used: the route is invalid
        }
    }

    private Integer port(JsonNode n, String path) {
        if (!n.isInt() || n.asInt() < 1 || n.asInt() > 65535) {
            problem(path, "must be a port number from 1 to 65535");
            return null;
        }
        return n.asInt();
    }

    /**
     * An enumerated field's value, {@code absent} when it is not set. A mapping or a list is no value ("", which no
     * switch accepts, so it is reported): Jackson 3's {@code asString(default)} would read it as the default.
     */
    private static String word(JsonNode n, String absent) {
        if (n.isMissingNode() || n.isNull()) {
            return absent;
        }
        return n.isValueNode() ? n.asString() : "";
    }

    private String text(JsonNode n, String path) {
        if (n.isMissingNode() || n.isNull()) {
            problem(path, "required");
            return null;
        }
        if (!n.isString() || n.asString().isEmpty()) {
            problem(path, "must be a non-empty string");
            return null;
        }
        return n.asString();
    }

    private JsonNode list(JsonNode n, String path) {
        if (n.isMissingNode() || n.isNull()) {
            return JsonNodeFactory.instance.arrayNode();
        }
        if (!n.isArray()) {
            problem(path, "must be a list");
            return JsonNodeFactory.instance.arrayNode();
        }
        return n;
    }

    private void problem(String field, String why) {
        problems.add("field " + field + ": " + why);
    }
}
