package dev.ferry.mesh.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.ReloadReport;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Istio AuthorizationPolicy semantics, table-driven: each case loads its policies through the real mesh-file source
 * (so parsing and validation are part of it), builds the engine with root namespace {@code istio-system}, and checks
 * one connection. The workload is {@code prod}, labels {@code app=web, version=v1}, unless a case says otherwise.
 */
class PolicySemanticsTest {
    private static final String ROOT = "istio-system";
    private static final Map<String, String> WEB = Map.of("app", "web", "version", "v1");
    private static final String CLIENT = "cluster.local/ns/shop/sa/client";

    @TempDir
    Path dir;

    record Case(String name, String policies, AuthzContext ctx, boolean allowed, String decidedBy, String error) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Case allow(String name, String policies, AuthzContext ctx) {
        return new Case(name, policies, ctx, true, null, null);
    }

    static Case deny(String name, String policies, AuthzContext ctx) {
        return new Case(name, policies, ctx, false, null, null);
    }

    static Case by(Case c, String policy) {
        return new Case(c.name(), c.policies(), c.ctx(), c.allowed(), policy, c.error());
    }

    static Case reported(Case c, String error) {
        return new Case(c.name(), c.policies(), c.ctx(), c.allowed(), c.decidedBy(), error);
    }

    static String ap(String ns, String name, String spec) {
        return "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: " + name + ", namespace: "
                + ns + "}\nspec:\n" + spec.indent(2) + "---\n";
    }

    static String pa(String ns, String name, String spec) {
        return "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata: {name: " + name + ", namespace: "
                + ns + "}\nspec:\n" + spec.indent(2) + "---\n";
    }

    static String ap(String name, String spec) {
        return ap("prod", name, spec);
    }

    static AuthzContext plain(String ip, int port) {
        return AuthzContext.plaintext(addr(ip), "prod", WEB, port);
    }

    static AuthzContext mtls(String principal, int port) {
        String ns = principal.split("/")[2];
        return new AuthzContext(addr("10.244.1.5"), principal, ns, "prod", WEB, port, null);
    }

    static AuthzContext http(AuthzContext c, String method, String path, String host, Map<String, String> headers) {
        return new AuthzContext(
                c.sourceIp(),
                c.sourcePrincipal(),
                c.sourceNamespace(),
                c.workloadNamespace(),
                c.workloadLabels(),
                c.destinationPort(),
                new AuthzContext.Http(method, path, host, headers::get));
    }

    static AuthzContext in(AuthzContext c, String ns, Map<String, String> labels) {
        return new AuthzContext(
                c.sourceIp(), c.sourcePrincipal(), c.sourceNamespace(), ns, labels, c.destinationPort(), c.http());
    }

    static InetAddress addr(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static Stream<Case> cases() {
        AuthzContext p = plain("10.244.1.5", 8080);
        AuthzContext m = mtls(CLIENT, 8080);
        List<Case> c = new ArrayList<>();
        // presence and absence of policies
        c.add(allow("no policy at all", "", p));
        c.add(deny("ALLOW without rules allows nothing", ap("nothing", "action: ALLOW"), p));
        c.add(deny("empty spec is allow-nothing", ap("empty", "{}"), m));
        c.add(allow("ALLOW with rule {} allows all", ap("all", "rules: [{}]"), p));
        c.add(by(
                deny("DENY with rule {} denies all", ap("deny-all", "action: DENY\nrules: [{}]"), m), "prod/deny-all"));
        c.add(allow("DENY without rules matches nothing", ap("d", "action: DENY"), p));
        c.add(allow("empty lists are absent fields", ap("a", "rules: [{from: [{source: {principals: []}}]}]"), p));
        // principals
        c.add(allow("principal exact", ap("a", "rules: [{from: [{source: {principals: [" + CLIENT + "]}}]}]"), m));
        c.add(deny(
                "principal mismatch",
                ap("a", "rules: [{from: [{source: {principals: [cluster.local/ns/shop/sa/other]}}]}]"),
                m));
        c.add(allow(
                "principal prefix*",
                ap("a", "rules: [{from: [{source: {principals: [\"cluster.local/ns/shop/*\"]}}]}]"),
                m));
        c.add(allow("principal *suffix", ap("a", "rules: [{from: [{source: {principals: [\"*/sa/client\"]}}]}]"), m));
        c.add(allow(
                "principal * = any authenticated", ap("a", "rules: [{from: [{source: {principals: [\"*\"]}}]}]"), m));
        c.add(deny(
                "principal * never matches plaintext",
                ap("a", "rules: [{from: [{source: {principals: [\"*\"]}}]}]"),
                p));
        c.add(deny(
                "notPrincipals [*] DENY blocks plaintext",
                ap("d", "action: DENY\nrules: [{from: [{source: {notPrincipals: [\"*\"]}}]}]"),
                p));
        c.add(allow(
                "notPrincipals [*] DENY lets mTLS through",
                ap("d", "action: DENY\nrules: [{from: [{source: {notPrincipals: [\"*\"]}}]}]"),
                m));
        c.add(allow(
                "notPrincipals not listing the peer",
                ap("a", "rules: [{from: [{source: {notPrincipals: [cluster.local/ns/evil/sa/x]}}]}]"),
                m));
        // namespaces
        c.add(allow("namespace match", ap("a", "rules: [{from: [{source: {namespaces: [shop]}}]}]"), m));
        c.add(deny(
                "namespaces never match plaintext", ap("a", "rules: [{from: [{source: {namespaces: [shop]}}]}]"), p));
        c.add(allow(
                "notNamespaces always match plaintext",
                ap("a", "rules: [{from: [{source: {notNamespaces: [evil]}}]}]"),
                p));
        c.add(deny(
                "notNamespaces excludes the peer", ap("a", "rules: [{from: [{source: {notNamespaces: [shop]}}]}]"), m));
        // IP blocks
        c.add(allow("ipBlocks IPv4 CIDR", ap("a", "rules: [{from: [{source: {ipBlocks: [10.244.1.0/24]}}]}]"), p));
        c.add(deny("ipBlocks IPv4 miss", ap("a", "rules: [{from: [{source: {ipBlocks: [10.244.2.0/24]}}]}]"), p));
        c.add(allow("ipBlocks bare IP", ap("a", "rules: [{from: [{source: {ipBlocks: [10.244.1.5]}}]}]"), p));
        c.add(deny(
                "notIpBlocks DENY outside the pod range",
                ap("d", "action: DENY\nrules: [{from: [{source: {notIpBlocks: [10.244.0.0/16]}}]}]"),
                plain("192.168.1.1", 8080)));
        c.add(allow(
                "ipBlocks IPv6 CIDR",
                ap("a", "rules: [{from: [{source: {ipBlocks: [\"fd00::/64\"]}}]}]"),
                plain("fd00::5", 8080)));
        c.add(deny(
                "ipBlocks IPv6 miss",
                ap("a", "rules: [{from: [{source: {ipBlocks: [\"fd00::/64\"]}}]}]"),
                plain("fd01::5", 8080)));
        c.add(deny(
                "IPv4 block never matches an IPv6 peer",
                ap("a", "rules: [{from: [{source: {ipBlocks: [0.0.0.0/0]}}]}]"),
                plain("fd00::5", 8080)));
        // ports
        c.add(allow("ports match the target port", ap("a", "rules: [{to: [{operation: {ports: [\"8080\"]}}]}]"), p));
        c.add(deny(
                "ports miss", ap("a", "rules: [{to: [{operation: {ports: [\"8080\"]}}]}]"), plain("10.244.1.5", 9090)));
        c.add(deny(
                "notPorts DENY",
                ap("d", "action: DENY\nrules: [{to: [{operation: {notPorts: [\"8080\"]}}]}]"),
                plain("10.244.1.5", 9090)));
        c.add(allow(
                "notPorts DENY skips the listed port",
                ap("d", "action: DENY\nrules: [{to: [{operation: {notPorts: [\"8080\"]}}]}]"),
                p));
        // HTTP attributes on plain TCP and on HTTP
        c.add(deny(
                "ALLOW needing HTTP matches nothing on TCP",
                ap("a", "rules: [{to: [{operation: {methods: [GET]}}]}]"),
                m));
        c.add(allow(
                "ALLOW methods on HTTP",
                ap("a", "rules: [{to: [{operation: {methods: [GET]}}]}]"),
                http(m, "GET", "/", "web", Map.of())));
        c.add(deny(
                "ALLOW methods mismatch on HTTP",
                ap("a", "rules: [{to: [{operation: {methods: [GET]}}]}]"),
                http(m, "POST", "/", "web", Map.of())));
        c.add(deny(
                "DENY drops HTTP conditions on TCP (fail safe)",
                ap("d", "action: DENY\nrules: [{to: [{operation: {methods: [POST]}}]}]"),
                m));
        c.add(allow(
                "DENY on TCP: what remains must still match",
                ap("d", "action: DENY\nrules: [{to: [{operation: {methods: [POST], ports: [\"9090\"]}}]}]"),
                m));
        c.add(deny(
                "DENY paths prefix on HTTP",
                ap("d", "action: DENY\nrules: [{to: [{operation: {paths: [\"/admin*\"]}}]}]"),
                http(m, "GET", "/admin/users", "web", Map.of())));
        c.add(allow(
                "DENY paths other path on HTTP",
                ap("d", "action: DENY\nrules: [{to: [{operation: {paths: [\"/admin*\"]}}]}]"),
                http(m, "GET", "/api", "web", Map.of())));
        c.add(allow(
                "hosts match case-insensitively",
                ap("a", "rules: [{to: [{operation: {hosts: [Web.Prod.svc]}}]}]"),
                http(m, "GET", "/", "web.prod.SVC", Map.of())));
        c.add(deny(
                "notHosts excludes",
                ap("a", "rules: [{to: [{operation: {notHosts: [\"*.internal\"]}}]}]"),
                http(m, "GET", "/", "db.internal", Map.of())));
        // when
        c.add(allow("when source.ip", ap("a", "rules: [{when: [{key: source.ip, values: [10.244.1.0/24]}]}]"), p));
        c.add(deny(
                "when destination.port notValues",
                ap("a", "rules: [{when: [{key: destination.port, notValues: [\"8080\"]}]}]"),
                p));
        c.add(allow(
                "when request.headers on HTTP",
                ap("a", "rules: [{when: [{key: \"request.headers[X-User]\", values: [alice]}]}]"),
                http(m, "GET", "/", "web", Map.of("x-user", "alice"))));
        c.add(deny(
                "when request.headers: ALLOW on TCP matches nothing",
                ap("a", "rules: [{when: [{key: \"request.headers[x-user]\", values: [alice]}]}]"),
                m));
        c.add(deny(
                "when request.headers: DENY on TCP drops it",
                ap("d", "action: DENY\nrules: [{when: [{key: \"request.headers[x-user]\", values: [bob]}]}]"),
                m));
        c.add(deny(
                "when source.principal never matches plaintext",
                ap("a", "rules: [{when: [{key: source.principal, values: [\"*\"]}]}]"),
                p));
        c.add(allow("when source.namespace", ap("a", "rules: [{when: [{key: source.namespace, values: [shop]}]}]"), m));
        c.add(deny(
                "from AND to AND when",
                ap("a", "rules: [{from: [{source: {namespaces: [shop]}}], to: [{operation: {ports: [\"9090\"]}}]}]"),
                m));
        c.add(allow(
                "any source of from (OR)",
                ap("a", "rules: [{from: [{source: {namespaces: [x]}}, {source: {ipBlocks: [10.244.1.0/24]}}]}]"),
                p));
        // selectors and namespaces
        c.add(allow(
                "selector mismatch: no ALLOW applies",
                ap("a", "selector: {matchLabels: {app: other}}\nrules: [{from: [{source: {namespaces: [nobody]}}]}]"),
                m));
        c.add(deny(
                "selector match applies",
                ap(
                        "a",
                        "selector: {matchLabels: {app: web, version: v1}}\nrules: [{from: [{source: {namespaces: [nobody]}}]}]"),
                m));
        c.add(allow(
                "selector needs every label",
                ap(
                        "a",
                        "selector: {matchLabels: {app: web, version: v2}}\nrules: [{from: [{source: {namespaces: [nobody]}}]}]"),
                m));
        c.add(allow(
                "another namespace's policy does not apply",
                ap("dev", "a", "rules: [{from: [{source: {namespaces: [nobody]}}]}]"),
                m));
        c.add(by(
                deny(
                        "root-namespace DENY applies mesh-wide",
                        ap(
                                ROOT,
                                "global-deny",
                                "action: DENY\nrules: [{from: [{source: {ipBlocks: [10.244.1.0/24]}}]}]"),
                        p),
                ROOT + "/global-deny"));
        c.add(deny(
                "root-namespace ALLOW with selector applies in any namespace",
                ap(
                        ROOT,
                        "web-only-shop",
                        "selector: {matchLabels: {app: web}}\nrules: [{from: [{source: {namespaces: [nobody]}}]}]"),
                in(m, "staging", WEB)));
        c.add(allow(
                "root-namespace selector mismatch",
                ap(
                        ROOT,
                        "x",
                        "selector: {matchLabels: {app: db}}\nrules: [{from: [{source: {namespaces: [nobody]}}]}]"),
                m));
        // several policies
        c.add(by(
                deny(
                        "DENY wins over a matching ALLOW",
                        ap("allow-all", "rules: [{}]")
                                + ap("deny-shop", "action: DENY\nrules: [{from: [{source: {namespaces: [shop]}}]}]"),
                        m),
                "prod/deny-shop"));
        c.add(by(
                allow(
                        "any matching ALLOW",
                        ap("a1", "rules: [{from: [{source: {namespaces: [x]}}]}]")
                                + ap("a2", "rules: [{from: [{source: {namespaces: [shop]}}]}]"),
                        m),
                "prod/a2"));
        c.add(allow("AUDIT never blocks", ap("audit", "action: AUDIT\nrules: [{}]"), p));
        c.add(deny(
                "AUDIT is not an ALLOW",
                ap("audit", "action: AUDIT\nrules: [{}]") + ap("a", "rules: [{from: [{source: {namespaces: [x]}}]}]"),
                m));
        // invalid documents: reported, and isolated
        c.add(reported(
                deny(
                        "invalid ALLOW (unsupported field) matches nothing",
                        ap("a", "rules: [{from: [{source: {requestPrincipals: [\"*\"]}}]}]"),
                        m),
                "spec.rules[0].from[0].source.requestPrincipals: not supported by Ferry"));
        c.add(reported(
                by(
                        deny(
                                "invalid DENY denies all it selects",
                                ap("d", "action: DENY\nrules: [{from: [{source: {principalz: [x]}}]}]"),
                                m),
                        "prod/d"),
                "spec.rules[0].from[0].source.principalz: unknown field"));
        c.add(reported(
                allow(
                        "invalid DENY with another selector leaves this workload alone",
                        ap(
                                "d",
                                "action: DENY\nselector: {matchLabels: {app: db}}\nrules: [{to: [{operation: {ports: [\"http\"]}}]}]"),
                        m),
                "is not a port number"));
        c.add(reported(
                deny(
                        "unsupported when key",
                        ap("a", "rules: [{when: [{key: \"request.auth.claims[iss]\", values: [x]}]}]"),
                        m),
                "'request.auth.claims[iss]' is not supported by Ferry"));
        c.add(reported(
                deny(
                        "CUSTOM action is refused and fails closed",
                        ap("c", "action: CUSTOM\nprovider: {name: ext}\nrules: [{}]"),
                        m),
                "CUSTOM (external authorization) is not supported"));
        c.add(reported(
                allow(
                        "an invalid policy leaves the valid ones working",
                        ap("broken", "selector: {matchLabels: {app: db}}\nrules: [{frm: []}]")
                                + ap("ok", "rules: [{}]"),
                        m),
                "spec.rules[0].frm: unknown field"));
        // PeerAuthentication: STRICT is a rule of the engine, applied before any AuthorizationPolicy
        String meshStrict = pa(ROOT, "default", "mtls: {mode: STRICT}");
        c.add(by(deny("mesh-wide STRICT refuses plaintext", meshStrict, p), ROOT + "/default"));
        c.add(allow("mesh-wide STRICT admits mTLS", meshStrict, m));
        c.add(deny("STRICT comes before a matching ALLOW", meshStrict + ap("all", "rules: [{}]"), p));
        c.add(allow(
                "namespace PERMISSIVE overrides mesh STRICT",
                meshStrict + pa("prod", "ns", "mtls: {mode: PERMISSIVE}"),
                p));
        c.add(deny("namespace UNSET inherits mesh STRICT", meshStrict + pa("prod", "ns", "mtls: {mode: UNSET}"), p));
        c.add(deny(
                "workload STRICT over namespace PERMISSIVE",
                pa("prod", "ns", "mtls: {mode: PERMISSIVE}")
                        + pa("prod", "web", "selector: {matchLabels: {app: web}}\nmtls: {mode: STRICT}"),
                p));
        c.add(allow(
                "workload STRICT with another selector leaves this one",
                pa("prod", "db", "selector: {matchLabels: {app: db}}\nmtls: {mode: STRICT}"),
                p));
        c.add(allow(
                "portLevelMtls DISABLE opens one port",
                pa(
                        "prod",
                        "web",
                        "selector: {matchLabels: {app: web}}\nmtls: {mode: STRICT}\nportLevelMtls: {8080: {mode: DISABLE}}"),
                p));
        c.add(deny(
                "portLevelMtls leaves other ports STRICT",
                pa(
                        "prod",
                        "web",
                        "selector: {matchLabels: {app: web}}\nmtls: {mode: STRICT}\nportLevelMtls: {8080: {mode: DISABLE}}"),
                plain("10.244.1.5", 9090)));
        c.add(allow("no PeerAuthentication means PERMISSIVE", ap("all", "rules: [{}]"), p));
        c.add(reported(
                deny("an invalid PeerAuthentication is enforced as STRICT", pa("prod", "bad", "mtls: {mode: LAX}"), p),
                "'LAX' is not STRICT, PERMISSIVE, DISABLE or UNSET"));
        c.add(reported(
                deny(
                        "portLevelMtls without a selector is invalid",
                        pa("prod", "bad", "mtls: {mode: PERMISSIVE}\nportLevelMtls: {8080: {mode: DISABLE}}"),
                        p),
                "needs a selector"));
        return c.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decides(Case c) throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), c.policies());
        AtomicReference<MeshSnapshot> snapshot = new AtomicReference<>();
        ReloadReport report;
        try (MeshFileSource source = new MeshFileSource(f, snapshot::set, r -> {})) {
            report = source.reload();
        }
        if (c.error() == null) {
            assertThat(report.errors()).as("policies load cleanly").isEmpty();
        } else {
            assertThat(report.errors().toString()).contains(c.error());
        }
        PolicyEngine engine =
                PolicyEngine.of(snapshot.get().policies(), snapshot.get().peerAuthentications(), ROOT);
        Decision d = engine.check(c.ctx());
        assertThat(d.allowed()).as(d.reason()).isEqualTo(c.allowed());
        if (c.decidedBy() != null) {
            assertThat(d.policy()).isEqualTo(c.decidedBy());
        }
    }
}
