package dev.ferry.mesh.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.ReloadReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Route matching and every precedence rule of the Gateway API spec (HTTPRouteRule's "matches" ordering), on routes
 * loaded from documents as a user writes them. Named after the GAMMA conformance cases where one applies.
 */
class RouteTableTest {
    @TempDir
    Path dir;

    /** A request for matching: method, path with an optional query, headers. */
    record Req(String method, String target, Map<String, String> headers) implements RequestView {
        static Req get(String target) {
            return new Req("GET", target, Map.of());
        }

        @Override
        public String path() {
            int q = target.indexOf('?');
            return q < 0 ? target : target.substring(0, q);
        }

        @Override
        public String header(String lowerCaseName) {
            return headers.get(lowerCaseName);
        }

        @Override
        public String queryParam(String name) {
            int q = target.indexOf('?');
            if (q < 0) {
                return null;
            }
            for (String kv : target.substring(q + 1).split("&")) {
                int eq = kv.indexOf('=');
                if ((eq < 0 ? kv : kv.substring(0, eq)).equals(name)) {
                    return eq < 0 ? "" : kv.substring(eq + 1);
                }
            }
            return null;
        }
    }

    private MeshSnapshot load(String routes) throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: v1
                kind: Service
                metadata: {name: echo, namespace: gw}
                spec: {clusterIP: 10.96.0.20, ports: [{name: http, port: 80, targetPort: 8080}]}
                ---
                """ + routes);
        AtomicReference<MeshSnapshot> s = new AtomicReference<>();
        ReloadReport r = new MeshFileSource(f, s::set, x -> {}).reload();
        assertThat(r.errors()).as("routes load cleanly").isEmpty();
        return s.get();
    }

    private static String backendOf(MeshSnapshot s, String clientNs, RequestView req) {
        return switch (s.routes().match("gw", "echo", 80, clientNs, req)) {
            case RouteTable.Matched m ->
                m.candidate().rule().backends().getFirst().name()
                        + (m.candidate().rule().name() == null
                                ? ""
                                : "#" + m.candidate().rule().name());
            case RouteTable.NoMatch n -> "404";
            case RouteTable.Unrouted u -> "unrouted";
        };
    }

    private static String route(String name, String created, String rules) {
        return """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: %s, namespace: gw, creationTimestamp: "%s"}
                spec:
                  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
                  rules:
                %s
                ---
                """.formatted(name, created, rules.indent(2).stripTrailing());
    }

    @Test
    void meshHttpRouteMatchingPathAndHeaders() throws Exception {
        MeshSnapshot s = load(route("match", "2026-01-01T00:00:00Z", """
                - matches: [{path: {type: PathPrefix, value: /}}]
                  backendRefs: [{name: v1, port: 80}]
                - matches: [{path: {type: PathPrefix, value: /v2}}, {headers: [{name: version, value: two}]}]
                  backendRefs: [{name: v2, port: 80}]
                """));
        assertThat(backendOf(s, "gw", Req.get("/"))).isEqualTo("v1");
        assertThat(backendOf(s, "gw", Req.get("/v2"))).isEqualTo("v2");
        assertThat(backendOf(s, "gw", Req.get("/v2/example"))).isEqualTo("v2");
        // whole segments: /v2example is not under /v2
        assertThat(backendOf(s, "gw", Req.get("/v2example"))).isEqualTo("v1");
        assertThat(backendOf(s, "gw", new Req("GET", "/", Map.of("version", "two"))))
                .isEqualTo("v2");
        assertThat(backendOf(s, "gw", new Req("GET", "/", Map.of("version", "three"))))
                .isEqualTo("v1");
    }

    @Test
    void exactBeatsLongestPrefixBeatsShorterPrefix() throws Exception {
        MeshSnapshot s = load(route("r", "2026-01-01T00:00:00Z", """
                - matches: [{path: {type: PathPrefix, value: /a}}]
                  backendRefs: [{name: prefix-short, port: 80}]
                - matches: [{path: {type: PathPrefix, value: /a/b}}]
                  backendRefs: [{name: prefix-long, port: 80}]
                - matches: [{path: {type: Exact, value: /a/b/c}}]
                  backendRefs: [{name: exact, port: 80}]
                - matches: [{path: {type: RegularExpression, value: "/a/b/[0-9]+"}}]
                  backendRefs: [{name: regex, port: 80}]
                """));
        assertThat(backendOf(s, "gw", Req.get("/a/b/c"))).isEqualTo("exact");
        assertThat(backendOf(s, "gw", Req.get("/a/b/42")))
                .as("regex before any prefix")
                .isEqualTo("regex");
        assertThat(backendOf(s, "gw", Req.get("/a/b/d"))).isEqualTo("prefix-long");
        assertThat(backendOf(s, "gw", Req.get("/a/x"))).isEqualTo("prefix-short");
        assertThat(backendOf(s, "gw", Req.get("/b")))
                .as("routes attach, none matches")
                .isEqualTo("404");
    }

    @Test
    void methodThenHeaderCountThenQueryCount() throws Exception {
        MeshSnapshot s = load(route("r", "2026-01-01T00:00:00Z", """
                - matches: [{path: {value: /p}, queryParams: [{name: a, value: "1"}, {name: b, value: "2"}]}]
                  backendRefs: [{name: two-queries, port: 80}]
                - matches: [{path: {value: /p}, headers: [{name: x, value: "1"}]}]
                  backendRefs: [{name: one-header, port: 80}]
                - matches: [{path: {value: /p}, headers: [{name: x, value: "1"}, {name: y, value: "1"}]}]
                  backendRefs: [{name: two-headers, port: 80}]
                - matches: [{path: {value: /p}, method: POST}]
                  backendRefs: [{name: post, port: 80}]
                """));
        Map<String, String> both = Map.of("x", "1", "y", "1");
        assertThat(backendOf(s, "gw", new Req("POST", "/p?a=1&b=2", both)))
                .as("method first")
                .isEqualTo("post");
        assertThat(backendOf(s, "gw", new Req("GET", "/p?a=1&b=2", both))).isEqualTo("two-headers");
        assertThat(backendOf(s, "gw", new Req("GET", "/p?a=1&b=2", Map.of("x", "1"))))
                .isEqualTo("one-header");
        assertThat(backendOf(s, "gw", new Req("GET", "/p?a=1&b=2", Map.of()))).isEqualTo("two-queries");
        assertThat(backendOf(s, "gw", new Req("GET", "/p?a=1", Map.of()))).isEqualTo("404");
    }

    @Test
    void meshHttpRouteQueryParamMatching() throws Exception {
        MeshSnapshot s = load(route("q", "2026-01-01T00:00:00Z", """
                - matches: [{queryParams: [{name: animal, value: whale}]}]
                  backendRefs: [{name: v1, port: 80}]
                - matches: [{queryParams: [{name: animal, value: dolphin}]}]
                  backendRefs: [{name: v2, port: 80}]
                - matches: [{queryParams: [{type: RegularExpression, name: color, value: "bl.*"}]}]
                  backendRefs: [{name: v3, port: 80}]
                """));
        assertThat(backendOf(s, "gw", Req.get("/?animal=whale"))).isEqualTo("v1");
        assertThat(backendOf(s, "gw", Req.get("/?animal=dolphin"))).isEqualTo("v2");
        assertThat(backendOf(s, "gw", Req.get("/?color=blue"))).isEqualTo("v3");
        assertThat(backendOf(s, "gw", Req.get("/?animal=shark"))).isEqualTo("404");
    }

    @Test
    void tiesGoToTheOldestRouteThenByNameThenRuleOrder() throws Exception {
        MeshSnapshot s = load(route("b-newer", "2026-02-01T00:00:00Z", """
                - matches: [{path: {value: /same}}]
                  backendRefs: [{name: newer, port: 80}]
                """)
                + route("z-older", "2026-01-01T00:00:00Z", """
                - matches: [{path: {value: /same}}]
                  backendRefs: [{name: older, port: 80}]
                - matches: [{path: {value: /same}}]
                  backendRefs: [{name: older-second-rule, port: 80}]
                """)
                + route("a-same-time", "2026-02-01T00:00:00Z", """
                - matches: [{path: {value: /other}}]
                  backendRefs: [{name: a-first, port: 80}]
                """)
                + route("c-same-time", "2026-02-01T00:00:00Z", """
                - matches: [{path: {value: /other}}]
                  backendRefs: [{name: c-second, port: 80}]
                """));
        assertThat(backendOf(s, "gw", Req.get("/same"))).isEqualTo("older");
        assertThat(backendOf(s, "gw", Req.get("/other")))
                .as("same age: by namespace/name")
                .isEqualTo("a-first");
    }

    @Test
    void meshHttpRouteNamedRule() throws Exception {
        MeshSnapshot s = load(route("named", "2026-01-01T00:00:00Z", """
                - name: named-rule-one
                  matches: [{path: {value: /named}}]
                  backendRefs: [{name: v1, port: 80}]
                - matches: [{path: {value: /unnamed}}]
                  backendRefs: [{name: v2, port: 80}]
                """));
        assertThat(backendOf(s, "gw", Req.get("/named"))).isEqualTo("v1#named-rule-one");
        assertThat(backendOf(s, "gw", Req.get("/unnamed"))).isEqualTo("v2");
    }

    @Test
    void consumerRoutesOverrideProducerRoutesForTheirNamespaceOnly() throws Exception {
        MeshSnapshot s = load(route("producer", "2026-01-01T00:00:00Z", """
                - backendRefs: [{name: producer, port: 80}]
                """) + """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: consumer, namespace: client-ns}
                spec:
                  parentRefs: [{kind: Service, group: "", name: echo, namespace: gw}]
                  rules: [{backendRefs: [{name: consumer-backend, port: 80}]}]
                """);
        assertThat(backendOf(s, "client-ns", Req.get("/"))).isEqualTo("consumer-backend");
        assertThat(backendOf(s, "other-ns", Req.get("/"))).isEqualTo("producer");
        assertThat(backendOf(s, null, Req.get("/")))
                .as("unknown client: producer routes")
                .isEqualTo("producer");
    }

    @Test
    void aRouteOnAnotherPortOrServiceDoesNotApply() throws Exception {
        MeshSnapshot s = load("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: other-port, namespace: gw}
                spec:
                  parentRefs: [{kind: Service, group: "", name: echo, port: 8080}]
                  rules: [{backendRefs: [{name: v1, port: 80}]}]
                """);
        assertThat(backendOf(s, "gw", Req.get("/"))).isEqualTo("unrouted");
        assertThat(s.routes().match("gw", "nothing", 80, "gw", Req.get("/"))).isInstanceOf(RouteTable.Unrouted.class);
    }

    @Test
    void grpcRouteMatchesServiceAndMethod() throws Exception {
        MeshSnapshot s = load("""
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: grpc, namespace: gw}
                spec:
                  parentRefs: [{kind: Service, group: "", name: echo}]
                  rules:
                  - matches: [{method: {service: echo.Echo, method: Hello}}]
                    backendRefs: [{name: hello, port: 80}]
                  - matches: [{method: {service: echo.Echo}}]
                    backendRefs: [{name: any-method, port: 80}]
                """);
        assertThat(backendOf(s, "gw", new Req("POST", "/echo.Echo/Hello", Map.of())))
                .isEqualTo("hello");
        assertThat(backendOf(s, "gw", new Req("POST", "/echo.Echo/Bye", Map.of())))
                .isEqualTo("any-method");
        assertThat(backendOf(s, "gw", new Req("POST", "/other.Svc/Hello", Map.of())))
                .isEqualTo("404");
    }
}
