package dev.ferry.mesh.route;

import dev.ferry.mesh.route.HttpMatch.PathMatch;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The routes of a snapshot, compiled once: for each Service, its producer routes' matches and each consumer
 * namespace's, sorted by the Gateway API's precedence so a request takes the first that matches:
 *
 * <ol>
 *   <li>an {@code Exact} path; then a {@code RegularExpression} path (Ferry's choice where the spec leaves it to the
 *       implementation: after Exact, before every prefix, longer patterns first); then the longest {@code PathPrefix}
 *   <li>a method match over none
 *   <li>the most header matches
 *   <li>the most query parameter matches
 *   <li>ties across routes: the oldest route, then {@code namespace/name} alphabetically; within a route, the first
 *       rule and match in the order written
 * </ol>
 *
 * A client in a namespace with consumer routes for the Service uses those only; others use the producer routes
 * (GAMMA). Immutable; built by the snapshot's writer, read by event loops without locks.
 */
public final class RouteTable {
    public static final RouteTable EMPTY = new RouteTable(List.of());

    /** One match of one rule of one route: the unit precedence sorts. */
    public record Candidate(HttpRoute route, HttpRouteRule rule, int ruleIndex, HttpMatch match, int matchIndex) {}

    /** The outcome of a lookup. */
    public sealed interface Result {}

    /** No route attaches to the Service (for this client): route to the Service itself. */
    public record Unrouted() implements Result {}

    /** Routes attach, none matches: Gateway API answers 404. */
    public record NoMatch() implements Result {}

    /**
     * The candidate that matched, with its name as telemetry and the access log give it ({@code namespace/route},
     * then {@code #rule} for a named rule). One per candidate, made when the table is built: a lookup allocates
     * nothing.
     */
    public record Matched(Candidate candidate, String name) implements Result {
        Matched(Candidate candidate) {
            this(
                    candidate,
                    candidate.route().key()
                            + (candidate.rule().name() == null
                                    ? ""
                                    : "#" + candidate.rule().name()));
        }
    }

    private static final Unrouted UNROUTED = new Unrouted();
    private static final NoMatch NO_MATCH = new NoMatch();

    private record ForService(List<Matched> producer, Map<String, List<Matched>> consumers) {}

    private final List<HttpRoute> routes;
    /** Service namespace, then name: two lookups instead of a key string built per request. */
    private final Map<String, Map<String, ForService>> byService = new HashMap<>();

    private RouteTable(List<HttpRoute> routes) {
        this.routes = List.copyOf(routes);
        Map<String, List<Candidate>> producer = new HashMap<>();
        Map<String, Map<String, List<Candidate>>> consumer = new HashMap<>();
        for (HttpRoute route : this.routes) {
            for (HttpRoute.ParentRef parent : route.parents()) {
                String service = parent.namespace() + "/" + parent.name();
                List<Candidate> into = parent.namespace().equals(route.namespace())
                        ? producer.computeIfAbsent(service, k -> new ArrayList<>())
                        : consumer.computeIfAbsent(service, k -> new HashMap<>())
                                .computeIfAbsent(route.namespace(), k -> new ArrayList<>());
                addCandidates(route, into);
            }
        }
        for (var e : producer.entrySet()) {
            e.getValue().sort(PRECEDENCE);
        }
        consumer.values().forEach(m -> m.values().forEach(l -> l.sort(PRECEDENCE)));
        java.util.Set<String> services = new java.util.HashSet<>(producer.keySet());
        services.addAll(consumer.keySet());
        for (String s : services) {
            Map<String, List<Candidate>> c = consumer.getOrDefault(s, Map.of());
            Map<String, List<Matched>> frozen = new HashMap<>();
            c.forEach((ns, l) -> frozen.put(ns, matched(l)));
            int slash = s.indexOf('/');
            byService
                    .computeIfAbsent(s.substring(0, slash), k -> new HashMap<>())
                    .put(
                            s.substring(slash + 1),
                            new ForService(matched(producer.getOrDefault(s, List.of())), Map.copyOf(frozen)));
        }
    }

    private static List<Matched> matched(List<Candidate> candidates) {
        List<Matched> out = new ArrayList<>(candidates.size());
        for (Candidate c : candidates) {
            out.add(new Matched(c));
        }
        return List.copyOf(out);
    }

    private ForService forService(String namespace, String name) {
        Map<String, ForService> inNamespace = byService.get(namespace);
        return inNamespace == null ? null : inNamespace.get(name);
    }

    public static RouteTable of(List<HttpRoute> routes) {
        return routes.isEmpty() ? EMPTY : new RouteTable(routes);
    }

    public List<HttpRoute> routes() {
        return routes;
    }

    /** Whether any route attaches to this Service (any port, any client): it is worth parsing HTTP for. */
    public boolean hasRoutes(String serviceNamespace, String serviceName) {
        return forService(serviceNamespace, serviceName) != null;
    }

    /**
     * The route for a request from a client in {@code clientNamespace} (null when unknown: producer routes) to a
     * Service port.
     */
    public Result match(
            String serviceNamespace, String serviceName, int port, String clientNamespace, RequestView request) {
        ForService f = forService(serviceNamespace, serviceName);
        if (f == null) {
            return UNROUTED;
        }
        List<Matched> candidates =
                clientNamespace == null ? null : f.consumers().get(clientNamespace);
        if (candidates == null || !attached(candidates, serviceNamespace, serviceName, port)) {
            candidates = f.producer();
        }
        boolean any = false;
        // indexed loops: on the request path, an iterator per list is garbage per request
        for (int i = 0; i < candidates.size(); i++) {
            Matched m = candidates.get(i);
            if (!attachedOn(m.candidate().route(), serviceNamespace, serviceName, port)) {
                continue;
            }
            any = true;
            if (matches(m.candidate().match(), request)) {
                return m;
            }
        }
        return any ? NO_MATCH : UNROUTED;
    }

    private static boolean attached(List<Matched> candidates, String ns, String name, int port) {
        for (int i = 0; i < candidates.size(); i++) {
            if (attachedOn(candidates.get(i).candidate().route(), ns, name, port)) {
                return true;
            }
        }
        return false;
    }

    private static boolean attachedOn(HttpRoute route, String ns, String name, int port) {
        List<HttpRoute.ParentRef> parents = route.parents();
        for (int i = 0; i < parents.size(); i++) {
            if (parents.get(i).attachesTo(ns, name, port)) {
                return true;
            }
        }
        return false;
    }

    static boolean matches(HttpMatch m, RequestView r) {
        if (m.method() != null && !m.method().equals(r.method())) {
            return false;
        }
        if (!m.path().matches(r.path())) {
            return false;
        }
        List<HttpMatch.ValueMatch> headers = m.headers();
        for (int i = 0; i < headers.size(); i++) {
            if (!headers.get(i).matches(r.header(headers.get(i).name()))) {
                return false;
            }
        }
        List<HttpMatch.ValueMatch> query = m.queryParams();
        for (int i = 0; i < query.size(); i++) {
            if (!query.get(i).matches(r.queryParam(query.get(i).name()))) {
                return false;
            }
        }
        return true;
    }

    private static void addCandidates(HttpRoute route, List<Candidate> into) {
        List<HttpRouteRule> rules = route.rules();
        for (int i = 0; i < rules.size(); i++) {
            HttpRouteRule rule = rules.get(i);
            List<HttpMatch> matches = rule.matches().isEmpty()
                    ? List.of(new HttpMatch(HttpMatch.ANY_PATH, List.of(), List.of(), null))
                    : rule.matches();
            for (int j = 0; j < matches.size(); j++) {
                into.add(new Candidate(route, rule, i, matches.get(j), j));
            }
        }
    }

    private static int pathRank(PathMatch p) {
        return switch (p.type()) {
            case EXACT -> 0;
            case REGEX -> 1;
            case PREFIX -> 2;
        };
    }

    private static final Comparator<Candidate> PRECEDENCE = Comparator.<Candidate>comparingInt(
                    c -> pathRank(c.match().path()))
            .thenComparing(c -> -c.match().path().value().length())
            .thenComparingInt(c -> c.match().method() == null ? 1 : 0)
            .thenComparingInt(c -> -c.match().headers().size())
            .thenComparingInt(c -> -c.match().queryParams().size())
            .thenComparing(
                    c -> c.route().created() == null ? Instant.MAX : c.route().created())
            .thenComparing(c -> c.route().key())
            .thenComparingInt(Candidate::ruleIndex)
            .thenComparingInt(Candidate::matchIndex);
}
