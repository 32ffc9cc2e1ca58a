package dev.ferry.mesh.kube;

import static dev.ferry.mesh.kube.KubernetesSourceTest.await;
import static dev.ferry.mesh.kube.KubernetesSourceTest.endpoints;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.time.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code discovery.k8s.io/v1} EndpointSlices, which the real API server built here (Kubernetes 1.20) does not serve:
 * against a <b>fake</b> API server ({@link FakeApiServer}), the one place a fake stands in for the API's content.
 */
class EndpointSliceV1FakeTest {
    static final String SLICES = "/apis/discovery.k8s.io/v1/endpointslices";

    private FakeApiServer api;
    private KubernetesSource source;
    private final AtomicReference<MeshSnapshot> state = new AtomicReference<>(MeshSnapshot.empty());

    @BeforeEach
    void start() throws Exception {
        api = new FakeApiServer();
    }

    @AfterEach
    void stop() {
        if (source != null) {
            source.close();
        }
        api.close();
    }

    private void slice(String ip) {
        api.put(SLICES, """
                apiVersion: discovery.k8s.io/v1
                kind: EndpointSlice
                metadata: {name: legacy-1, namespace: shop, labels: {kubernetes.io/service-name: legacy}}
                addressType: IPv4
                ports: [{name: http, port: 8080, protocol: TCP}]
                endpoints: [{addresses: ["%s"], conditions: {ready: true}, nodeName: node-1}]
                """.formatted(ip));
    }

    @Test
    void v1SlicesAreReadWhenTheServerServesThem() throws Exception {
        api.put("/api/v1/namespaces", "{apiVersion: v1, kind: Namespace, metadata: {name: shop}}");
        api.put("/api/v1/services", """
                apiVersion: v1
                kind: Service
                metadata: {name: legacy, namespace: shop}
                spec: {clusterIP: 10.96.0.50, ports: [{name: http, port: 80}]}
                """);
        slice("192.168.50.7");
        source = new KubernetesSource(
                new KubeHttp(ApiServer.withToken(api.url(), false, ""), new Heartbeat("kube-api", Ticker.system())),
                new MeshAssembler("istio-system", state::set),
                r -> {},
                Duration.ofMillis(20),
                new Heartbeat("mesh-kubernetes", Ticker.system()));
        source.start();
        MeshSnapshot s = await(state, "synced", x -> x.version() > 0);
        assertThat(endpoints(s, "10.96.0.50")).containsExactly("192.168.50.7:8080");
        assertThat(api.requests).anyMatch(r -> r.startsWith(SLICES + "?limit="));
        slice("192.168.50.8");
        await(state, "v1 slice update", x -> {
            try {
                return endpoints(x, "10.96.0.50").equals(List.of("192.168.50.8:8080"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
