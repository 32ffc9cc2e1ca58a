package dev.ferry.agent.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.connector.Connector;
import dev.ferry.agent.connector.Connectors;
import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.kube.KubeApiServer;
import dev.ferry.mesh.kube.KubeFixtures;
import dev.ferry.mesh.kube.KubeHttp;
import dev.ferry.mesh.kube.KubernetesSource;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.time.Ticker;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * The captured-pod mark through a real kube-apiserver: set when the agent captures a pod, removed when it releases
 * it, and read back by another node's source, whose connector choice follows it ({@code hboneOutbound: auto}).
 */
class KubernetesPodMarkerTest {
    private static final Connector HBONE = new Connector() {
        @Override
        public Future<Channel> open(ConnectRequest request) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Principals principals(ConnectRequest request) {
            return null;
        }
    };

    @Test
    void marksOnCaptureUnmarksOnReleaseAndTheSourceAgentTunnelsOnlyToMarkedPods() throws Exception {
        try (KubeApiServer server = KubeApiServer.start(true);
                KubernetesClient admin = server.client(KubeApiServer.ADMIN_TOKEN);
                KubeHttp agentClient = server.agentClient(KubeApiServer.ADMIN_TOKEN)) {
            KubeFixtures.namespace(admin, "shop");
            KubeFixtures.runningPod(admin, "shop", "client", "10.244.1.5", "Running");
            KubeFixtures.runningPod(admin, "shop", "server", "10.244.2.5", "Running");
            AtomicReference<MeshSnapshot> state = new AtomicReference<>(MeshSnapshot.empty());
            try (KubernetesSource otherNode = new KubernetesSource(
                            server.agentClient(KubeApiServer.ADMIN_TOKEN),
                            new MeshAssembler("istio-system", state::set),
                            r -> {},
                            Duration.ofMillis(20),
                            new Heartbeat("mesh-kubernetes", Ticker.system()));
                    KubernetesPodMarker marker =
                            new KubernetesPodMarker(agentClient, new Heartbeat("pod-marker", Ticker.system()))) {
                otherNode.start();
                await(state, s -> s.workload("shop", "server").isPresent());
                Connectors auto = new Connectors(HBONE, true, new LongAdder());
                Workload client = state.get().workload("shop", "client").orElseThrow();
                assertThat(auto.choose(
                                client, state.get().workload("shop", "server").orElseThrow()))
                        .as("not captured yet: plaintext")
                        .isSameAs(auto.plain());

                marker.captured(Set.of("shop/server", "shop/gone-already"));
                await(state, s -> s.workload("shop", "server").orElseThrow().captured());
                assertThat(admin.pods()
                                .inNamespace("shop")
                                .withName("server")
                                .get()
                                .getMetadata()
                                .getAnnotations())
                        .containsEntry(Workload.CAPTURED_ANNOTATION, "enabled");
                assertThat(auto.choose(
                                client, state.get().workload("shop", "server").orElseThrow()))
                        .as("captured: HBONE")
                        .isSameAs(HBONE);

                marker.captured(Set.of());
                await(state, s -> !s.workload("shop", "server").orElseThrow().captured());
                assertThat(admin.pods()
                                .inNamespace("shop")
                                .withName("server")
                                .get()
                                .getMetadata()
                                .getAnnotations())
                        .doesNotContainKey(Workload.CAPTURED_ANNOTATION);
            }
        }
    }

    private static void await(AtomicReference<MeshSnapshot> state, Predicate<MeshSnapshot> p) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!p.test(state.get())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "not within 30 s; state version " + state.get().version());
            }
            Thread.sleep(20);
        }
    }
}
