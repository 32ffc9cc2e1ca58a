package dev.ferry.mesh.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.source.MeshFileSource;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which policies make the destination parse a workload's HTTP ports: those with a rule reading a request attribute
 * (methods, paths, hosts, their negations, request headers), from the workload's namespace or the root one; never
 * an invalid document (it matches whole connections) nor one selecting another workload.
 */
class NeedsHttpTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "paths | prod | {app: web} | DENY | rules: [{to: [{operation: {paths: [/admin]}}]}] | true",
                "notMethods | prod | {app: web} | ALLOW | rules: [{to: [{operation: {notMethods: [GET]}}]}] | true",
                "hosts | prod | {app: web} | AUDIT | rules: [{to: [{operation: {hosts: [a.example]}}]}] | true",
                "request header | prod | {} | ALLOW"
                        + " | rules: [{when: [{key: 'request.headers[x-user]', values: [bob]}]}] | true",
                "root namespace | istio-system | {} | DENY | rules: [{to: [{operation: {methods: [DELETE]}}]}] | true",
                "ports only | prod | {app: web} | DENY | rules: [{to: [{operation: {ports: ['8080']}}]}] | false",
                "source only | prod | {app: web} | ALLOW | rules: [{from: [{source: {namespaces: [prod]}}]}] | false",
                "another workload | prod | {app: db} | DENY | rules: [{to: [{operation: {paths: [/x]}}]}] | false",
                "another namespace | dev | {} | DENY | rules: [{to: [{operation: {paths: [/x]}}]}] | false",
                "invalid | prod | {app: web} | DENY | rules: [{to: [{operation: {paths: [/x], bogus: 1}}]}] | false",
            })
    void decides(String name, String ns, String selector, String action, String rules, boolean expected)
            throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: p, namespace: %s}
                spec:
                  selector: {matchLabels: %s}
                  action: %s
                  %s
                """.formatted(ns, selector, action, rules)
                .replace("matchLabels: {}", "matchLabels: {any: thing}")
                .replace("  selector: {matchLabels: {any: thing}}\n", ""));
        AtomicReference<MeshSnapshot> snapshot = new AtomicReference<>();
        try (MeshFileSource source = new MeshFileSource(f, snapshot::set, r -> {})) {
            source.reload();
        }
        PolicyEngine engine = PolicyEngine.of(snapshot.get().policies(), "istio-system");
        assertThat(snapshot.get().policies()).hasSize(1);
        assertThat(engine.needsHttp("prod", Map.of("app", "web"))).isEqualTo(expected);
    }

    @ParameterizedTest(name = "STRICT refuses plaintext before any request: {0}")
    @CsvSource({"STRICT, false", "PERMISSIVE, true"})
    void strictIsDecidedPerConnection(String mode, boolean plaintextPasses) throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: pa, namespace: prod}
                spec: {mtls: {mode: %s}}
                """.formatted(mode));
        AtomicReference<MeshSnapshot> snapshot = new AtomicReference<>();
        try (MeshFileSource source = new MeshFileSource(f, snapshot::set, r -> {})) {
            source.reload();
        }
        PolicyEngine engine =
                PolicyEngine.of(snapshot.get().policies(), snapshot.get().peerAuthentications(), "istio-system");
        AuthzContext plaintext =
                AuthzContext.plaintext(InetAddress.getByName("10.244.1.2"), "prod", Map.of("app", "web"), 8080);
        assertThat(engine.strictRefusal(plaintext) == null).isEqualTo(plaintextPasses);
        AuthzContext mtls = new AuthzContext(
                InetAddress.getByName("10.244.1.2"), "cluster.local/ns/a/sa/b", "a", "prod", Map.of(), 8080, null);
        assertThat(engine.strictRefusal(mtls)).isNull();
    }
}
