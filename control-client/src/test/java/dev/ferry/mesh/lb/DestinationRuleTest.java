package dev.ferry.mesh.lb;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.ReloadReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Istio DestinationRules as Ferry reads them: the load balancer per host and port, the lookup order (client's
 * namespace, then the Service's), and every field Ferry does not enforce refused by name.
 */
class DestinationRuleTest {
    @TempDir
    Path dir;

    private static final String SERVICES = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop}
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: client}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: cart, namespace: shop}
            spec: {clusterIP: 10.96.1.1, ports: [{name: http, port: 80}, {name: http-admin, port: 9000}], selector: {app: cart}}
            ---
            """;

    private MeshSnapshot load(String rules) throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), SERVICES + rules);
        AtomicReference<MeshSnapshot> s = new AtomicReference<>();
        ReloadReport r = new MeshFileSource(f, s::set, x -> {}).reload();
        assertThat(r.errors()).isEmpty();
        return s.get();
    }

    private static Service cart(MeshSnapshot s) {
        return s.service("shop", "cart").orElseThrow();
    }

    @Test
    void withoutARuleRequestsAreLeastRequest() throws Exception {
        MeshSnapshot s = load("");
        assertThat(s.loadBalancing(cart(s), 80, "client")).isEqualTo(LoadBalancing.Simple.LEAST_REQUEST);
    }

    @Test
    void simpleConsistentHashAndPortLevelSettings() throws Exception {
        MeshSnapshot s = load("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: cart, namespace: shop}
                spec:
                  host: cart
                  trafficPolicy:
                    loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 1031}}}
                    portLevelSettings:
                    - port: {number: 9000}
                      loadBalancer: {simple: ROUND_ROBIN}
                """);
        assertThat(s.loadBalancing(cart(s), 80, "shop"))
                .isEqualTo(new LoadBalancing.ConsistentHash(
                        new LoadBalancing.HashKey.Header("x-user"), LoadBalancing.Table.MAGLEV, 1031));
        assertThat(s.loadBalancing(cart(s), 9000, "shop")).isEqualTo(LoadBalancing.Simple.ROUND_ROBIN);
    }

    @Test
    void theClientsNamespaceComesFirstThenTheServices() throws Exception {
        MeshSnapshot s = load("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: cart, namespace: shop}
                spec: {host: cart.shop.svc.cluster.local, trafficPolicy: {loadBalancer: {simple: RANDOM}}}
                ---
                apiVersion: networking.istio.io/v1beta1
                kind: DestinationRule
                metadata: {name: cart-for-me, namespace: client, annotations: {ferry.dev/load-balancer: peak-ewma}}
                spec: {host: cart.shop}
                ---
                apiVersion: networking.istio.io/v1alpha3
                kind: DestinationRule
                metadata: {name: short-name-elsewhere, namespace: client}
                spec: {host: cart, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}
                """);
        assertThat(s.loadBalancing(cart(s), 80, "client")).isEqualTo(LoadBalancing.Simple.PEAK_EWMA);
        assertThat(s.loadBalancing(cart(s), 80, "other")).isEqualTo(LoadBalancing.Simple.RANDOM);
        assertThat(s.loadBalancing(cart(s), 80, "shop")).isEqualTo(LoadBalancing.Simple.RANDOM);
    }

    @Test
    void sourceIpAndRingHash() throws Exception {
        MeshSnapshot s = load("""
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: cart, namespace: shop}
                spec: {host: cart, trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, ringHash: {minimumRingSize: 64}}}}}
                """);
        assertThat(s.loadBalancing(cart(s), 80, "shop"))
                .isEqualTo(new LoadBalancing.ConsistentHash(
                        new LoadBalancing.HashKey.SourceIp(), LoadBalancing.Table.RING_HASH, 64));
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(
            delimiter = '|',
            value = {
                "{host: cart, subsets: [{name: v1, labels: {v: '1'}}]}|field spec.subsets: not supported by Ferry",
                "{host: cart, trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}|field spec.trafficPolicy.tls: not supported",
                "{host: cart, trafficPolicy: {outlierDetection: {}}}|spec.trafficPolicy.outlierDetection: not supported",
                "{host: cart, trafficPolicy: {loadBalancer: {simple: FASTEST}}}|field spec.trafficPolicy.loadBalancer.simple: must be one of",
                "{host: cart, trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}}|PASSTHROUGH is not supported",
                "{host: cart, trafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: c}}}}}|httpCookie: not supported",
                "{host: cart, trafficPolicy: {loadBalancer: {consistentHash: {}}}}|needs exactly one of",
                "{host: cart, trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, maglev: {tableSize: 1000}}}}}|must be a prime",
                "{host: '*.shop.svc.cluster.local'}|wildcards are not supported",
                "{trafficPolicy: {}}|field spec.host: required",
                "{host: cart, trafficPolicy: {portLevelSettings: [{loadBalancer: {simple: RANDOM}}]}}|port.number: required",
                "{host: cart, bogus: 1}|field spec.bogus: unknown field"
            })
    void badRulesAreErrorsNamingTheFieldAndAreNotUsed(String spec, String error) throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: bad, namespace: shop}
                spec: %s
                """.formatted(spec));
        AtomicReference<MeshSnapshot> s = new AtomicReference<>();
        ReloadReport r = new MeshFileSource(f, s::set, x -> {}).reload();
        assertThat(r.errors()).hasSize(1);
        assertThat(r.errors().getFirst().toString())
                .contains("DestinationRule")
                .contains("shop/bad")
                .contains(error);
        assertThat(s.get().destinationRules()).isEmpty();
    }

    @Test
    void aBadAnnotationIsAnError() throws Exception {
        Path f = Files.writeString(dir.resolve("mesh.yaml"), SERVICES + """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: bad, namespace: shop, annotations: {ferry.dev/load-balancer: fastest}}
                spec: {host: cart}
                """);
        ReloadReport r = new MeshFileSource(f, x -> {}, x -> {}).reload();
        assertThat(r.errors().toString()).contains("ferry.dev/load-balancer: must be peak-ewma");
    }
}
