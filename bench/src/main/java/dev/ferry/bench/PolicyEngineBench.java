package dev.ferry.bench;

import dev.ferry.mesh.Cidr;
import dev.ferry.mesh.authz.AuthorizationPolicy;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import dev.ferry.mesh.authz.Operation;
import dev.ferry.mesh.authz.PolicyEngine;
import dev.ferry.mesh.authz.Rule;
import dev.ferry.mesh.authz.Source;
import dev.ferry.mesh.authz.StringMatch;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Authorization decision time as the mesh's policy count grows, most policies unrelated to the workload (other
 * namespaces, other selectors), and the time to rebuild the engine's index for that many policies. The workload
 * ({@code prod}, {@code app=web}) always has the same five policies: a root-namespace DENY and a namespace DENY that
 * do not match, two ALLOWs that do not match, and one that does (checked last).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PolicyEngineBench {
    @Param({"10", "1000", "10000"})
    public int policies;

    private List<AuthorizationPolicy> all;
    private PolicyEngine engine;
    private AuthzContext plaintext;
    private AuthzContext mtls;

    @Setup
    public void setUp() throws UnknownHostException {
        all = new ArrayList<>();
        all.add(policy("istio-system", "global-deny", Map.of(), AuthorizationPolicy.Action.DENY, ip("192.168.0.0/16")));
        all.add(policy("prod", "deny-evil", Map.of("app", "web"), AuthorizationPolicy.Action.DENY, ns("evil")));
        all.add(policy("prod", "allow-a", Map.of("app", "web"), AuthorizationPolicy.Action.ALLOW, ns("a")));
        all.add(policy("prod", "allow-b", Map.of(), AuthorizationPolicy.Action.ALLOW, ip("172.16.0.0/12")));
        all.add(policy(
                "prod", "allow-pods", Map.of("app", "web"), AuthorizationPolicy.Action.ALLOW, ip("10.244.0.0/16")));
        for (int i = all.size(); i < policies; i++) {
            // unrelated: other namespaces, or this namespace with other selectors
            String namespace = i % 4 == 0 ? "prod" : "ns-" + (i % 500);
            all.add(policy(
                    namespace,
                    "p" + i,
                    Map.of("app", "svc-" + i),
                    i % 3 == 0 ? AuthorizationPolicy.Action.DENY : AuthorizationPolicy.Action.ALLOW,
                    ns("team-" + i)));
        }
        engine = PolicyEngine.of(all, "istio-system");
        plaintext = AuthzContext.plaintext(
                InetAddress.getByName("10.244.1.7"), "prod", Map.of("app", "web", "version", "v1"), 8080);
        mtls = new AuthzContext(
                InetAddress.getByName("10.244.1.7"),
                "cluster.local/ns/shop/sa/client",
                "shop",
                "prod",
                Map.of("app", "web", "version", "v1"),
                8080,
                null);
        if (!engine.check(plaintext).allowed() || !engine.check(mtls).allowed()) {
            throw new IllegalStateException("the benchmark's workload must end up allowed by allow-pods");
        }
    }

    private static Source ip(String cidr) {
        return new Source(List.of(), List.of(), List.of(), List.of(), List.of(Cidr.parse(cidr)), List.of());
    }

    private static Source ns(String namespace) {
        return new Source(List.of(), List.of(), List.of(StringMatch.parse(namespace)), List.of(), List.of(), List.of());
    }

    private static AuthorizationPolicy policy(
            String namespace,
            String name,
            Map<String, String> selector,
            AuthorizationPolicy.Action action,
            Source from) {
        Operation port =
                new Operation(Set.of(8080), Set.of(), List.of(), List.of(), List.of(), List.of(), List.of(), List.of());
        return new AuthorizationPolicy(
                namespace, name, selector, action, List.of(new Rule(List.of(from), List.of(port), List.of())), "");
    }

    @Benchmark
    public Decision checkPlaintext() {
        return engine.check(plaintext);
    }

    @Benchmark
    public Decision checkMutualTls() {
        return engine.check(mtls);
    }

    @Benchmark
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public PolicyEngine rebuildIndex() {
        return PolicyEngine.of(all, "istio-system");
    }

    /** The whole reload a policy edit causes: read the mesh file of {@code policies} documents, validate, index. */
    @Benchmark
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public PolicyEngine reloadMeshFile() throws java.io.IOException {
        java.util.concurrent.atomic.AtomicReference<dev.ferry.mesh.MeshSnapshot> out =
                new java.util.concurrent.atomic.AtomicReference<>();
        try (dev.ferry.mesh.source.MeshFileSource source =
                new dev.ferry.mesh.source.MeshFileSource(meshFile, out::set, r -> {})) {
            source.reload();
        }
        return PolicyEngine.of(out.get().policies(), "istio-system");
    }

    private java.nio.file.Path meshFile;

    @Setup
    public void writeMeshFile() throws java.io.IOException {
        StringBuilder yaml = new StringBuilder();
        for (int i = 0; i < policies; i++) {
            yaml.append(String.format(
                    java.util.Locale.ROOT,
                    "apiVersion: security.istio.io/v1%nkind: AuthorizationPolicy%nmetadata: {name: p%d, namespace: ns-%d}%n"
                            + "spec:%n  selector: {matchLabels: {app: svc-%d}}%n  action: %s%n"
                            + "  rules: [{from: [{source: {namespaces: [team-%d]}}], to: [{operation: {ports: [\"8080\"]}}]}]%n---%n",
                    i,
                    i % 500,
                    i,
                    i % 3 == 0 ? "DENY" : "ALLOW",
                    i));
        }
        meshFile = java.nio.file.Files.createTempFile("ferry-policies", ".yaml");
        meshFile.toFile().deleteOnExit();
        java.nio.file.Files.writeString(meshFile, yaml);
    }
}
