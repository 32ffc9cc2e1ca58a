package dev.ferry.mesh.kube;

import static dev.ferry.mesh.kube.KubernetesSourceTest.await;
import static dev.ferry.mesh.kube.KubernetesSourceTest.endpoints;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.time.Ticker;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code discovery.k8s.io/v1} EndpointSlices, which the real API server built here (Kubernetes 1.20) does not serve:
 * against fabric8's CRUD <b>mock</b> server (kubernetes-server-mock), the one place a mock stands in for the API.
 */
class EndpointSliceV1MockTest {
    private KubernetesMockServer mock;
    private KubernetesClient client;
    private KubernetesSource source;
    private final AtomicReference<MeshSnapshot> state = new AtomicReference<>(MeshSnapshot.empty());

    @BeforeEach
    void start() {
        // CRUD mode (the mock keeps what is created and serves lists and watches of it) mixed with one expectation:
        // discovery, which the CRUD mock does not derive from what it stores; the source asks which EndpointSlice
        // version the server serves from the group version's resource list, as kubectl does
        var responses = new java.util.HashMap<
                io.fabric8.mockwebserver.ServerRequest, java.util.Queue<io.fabric8.mockwebserver.ServerResponse>>();
        mock = new KubernetesMockServer(
                new io.fabric8.mockwebserver.Context(),
                new io.fabric8.mockwebserver.MockWebServer(),
                responses,
                new io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher(responses),
                true);
        mock.init();
        mock.expect()
                .get()
                .withPath("/apis/discovery.k8s.io/v1")
                .andReturn(
                        200,
                        new io.fabric8.kubernetes.api.model.APIResourceListBuilder()
                                .withGroupVersion("discovery.k8s.io/v1")
                                .addNewResource()
                                .withKind("EndpointSlice")
                                .withName("endpointslices")
                                .withNamespaced(true)
                                .endResource()
                                .build())
                .always();
        client = mock.createClient();
    }

    @AfterEach
    void stop() {
        if (source != null) {
            source.close();
        } else if (client != null) {
            client.close();
        }
        mock.destroy();
    }

    private void slice(List<String> ips) {
        EndpointSliceBuilder b = new EndpointSliceBuilder()
                .withNewMetadata()
                .withName("legacy-1")
                .withNamespace("shop")
                .addToLabels("kubernetes.io/service-name", "legacy")
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("http")
                .withPort(8080)
                .withProtocol("TCP")
                .endPort();
        for (String ip : ips) {
            b.addNewEndpoint()
                    .withAddresses(ip)
                    .withNewConditions()
                    .withReady(true)
                    .endConditions()
                    .withNodeName("node-1")
                    .endEndpoint();
        }
        client.discovery()
                .v1()
                .endpointSlices()
                .inNamespace("shop")
                .resource(b.build())
                .createOr(x -> x.update());
    }

    @Test
    void v1SlicesAreReadWhenTheServerServesThem() throws Exception {
        KubeFixtures.namespace(client, "shop");
        client.services()
                .inNamespace("shop")
                .resource(new io.fabric8.kubernetes.api.model.ServiceBuilder()
                        .withNewMetadata()
                        .withName("legacy")
                        .withNamespace("shop")
                        .endMetadata()
                        .withNewSpec()
                        .withClusterIP("10.96.0.50")
                        .addNewPort()
                        .withName("http")
                        .withPort(80)
                        .endPort()
                        .endSpec()
                        .build())
                .create();
        slice(List.of("192.168.50.7"));
        source = new KubernetesSource(
                client,
                new MeshAssembler("istio-system", state::set),
                r -> {},
                Duration.ofMillis(20),
                new Heartbeat("mesh-kubernetes", Ticker.system()));
        source.start();
        MeshSnapshot s = await(state, "synced", x -> x.version() > 0);
        assertThat(endpoints(s, "10.96.0.50")).containsExactly("192.168.50.7:8080");
        slice(List.of("192.168.50.8"));
        await(state, "v1 slice update", x -> {
            try {
                return endpoints(x, "10.96.0.50").equals(List.of("192.168.50.8:8080"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
