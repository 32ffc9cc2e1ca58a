package dev.ferry.mesh.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.ReloadReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A route with an unknown field or a bad value is a per-document error naming the field, and is not used. */
class RouteValidationTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "rules: [{backendRefs: [{name: v1, port: 80}], bogus: 1}]|field spec.rules[0].bogus: unknown",
                "rules: [{backendRefs: [{name: v1}]}]|field spec.rules[0].backendRefs[0].port: required",
                "rules: [{backendRefs: [{name: v1, port: 80, weight: -1}]}]|field spec.rules[0].backendRefs[0].weight",
                "rules: [{matches: [{path: {type: Glob, value: /x}}], backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].matches[0].path.type: must be Exact, PathPrefix or RegularExpression",
                "rules: [{matches: [{path: {type: {}, value: /x}}], backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].matches[0].path.type: must be Exact, PathPrefix or RegularExpression",
                "rules: [{matches: [{path: {type: RegularExpression, value: '(['}}], backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].matches[0].path.value: not a regular expression",
                "rules: [{matches: [{method: FETCH}], backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].matches[0].method: 'FETCH' is not one of",
                "rules: [{timeouts: {request: 10 seconds}, backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].timeouts.request: not a Gateway API duration",
                "rules: [{timeouts: {request: 1s, backendRequest: 2s}, backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].timeouts.backendRequest: must not be longer",
                "rules: [{retry: {codes: [200], attempts: 3}, backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].retry.codes[0]: must be an HTTP status from 400 to 599",
                "rules: [{filters: [{type: RequestMirror, requestMirror: {}}], backendRefs: [{name: v, port: 80}]}]"
                        + "|RequestMirror is not supported",
                "rules: [{filters: [{type: RequestRedirect, requestRedirect: {statusCode: 304}}]}]"
                        + "|field spec.rules[0].filters[0].requestRedirect.statusCode: must be 301, 302, 303, 307 or 308",
                "rules: [{filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: 'a b', value: x}]}}],"
                        + " backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[0].filters[0].requestHeaderModifier.set[0].name: not a header name",
                "rules: [{backendRefs: [{name: v, namespace: other, port: 80}]}]"
                        + "|field spec.rules[0].backendRefs[0].namespace: backends in another namespace need a ReferenceGrant",
                "rules: [{name: a, backendRefs: [{name: v, port: 80}]}, {name: a, backendRefs: [{name: v, port: 80}]}]"
                        + "|field spec.rules[1].name: 'a' is used by another rule",
                "rules: []|field spec.rules: required"
            })
    void badRoutesAreErrorsNamingTheField(String rules, String error) throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: v1
                kind: Namespace
                metadata: {name: gw}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: bad, namespace: gw}
                spec:
                  parentRefs: [{group: "", kind: Service, name: echo}]
                  %s
                """.formatted(rules));
        AtomicReference<MeshSnapshot> s = new AtomicReference<>();
        ReloadReport r = new MeshFileSource(f, s::set, x -> {}).reload();
        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.PARTIAL);
        assertThat(r.errors()).hasSize(1);
        assertThat(r.errors().getFirst().toString())
                .contains("HTTPRoute")
                .contains("gw/bad")
                .contains(error);
        assertThat(s.get().routes().routes()).as("an invalid route is not used").isEmpty();
    }

    @ParameterizedTest(name = "parent {0}")
    @CsvSource(
            delimiter = '|',
            value = {
                "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]|only a Service",
                "[{group: '', kind: Service, name: echo, sectionName: http}]|spec.parentRefs[0].sectionName",
                "[]|field spec.parentRefs: required"
            })
    void parentsMustBeServices(String parents, String error) throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: bad, namespace: gw}
                spec:
                  parentRefs: %s
                  rules: [{backendRefs: [{name: v, port: 80}]}]
                """.formatted(parents));
        ReloadReport r = new MeshFileSource(f, x -> {}, x -> {}).reload();
        assertThat(r.errors().toString()).contains(error);
    }
}
