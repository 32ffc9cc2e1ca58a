package dev.ferry.mesh.kube;

import static dev.ferry.mesh.kube.KubernetesSourceTest.await;
import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.time.Ticker;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes source when the API server is not there: unreachable at start (not ready, naming it), stopped and
 * restarted once synced (the last good state kept, then caught up), and partitioned while etcd compacts the history
 * its watches would resume from ({@code 410 Gone}: a relist, nothing lost). Its own API server, with the watch cache
 * off so that a watch resuming from a compacted revision reaches etcd and is refused.
 */
class KubernetesSourceFaultsTest {
    private static KubeApiServer server;
    private static KubernetesClient admin;

    private final AtomicReference<MeshSnapshot> state = new AtomicReference<>(MeshSnapshot.empty());
    private KubernetesSource source;
    private TcpGate gate;

    @BeforeAll
    static void startServer() throws Exception {
        server = KubeApiServer.start(false);
        admin = server.client(KubeApiServer.ADMIN_TOKEN);
        KubeFixtures.namespace(admin, "shop");
    }

    @AfterAll
    static void stopServer() throws Exception {
        if (admin != null) {
            admin.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @AfterEach
    void close() throws Exception {
        if (source != null) {
            source.close();
        }
        if (gate != null) {
            gate.close();
        }
    }

    private void sourceThrough(TcpGate g) throws java.io.IOException {
        sourceThrough(KubeApiServer.agentClient(g.url(), KubeApiServer.ADMIN_TOKEN));
    }

    private void sourceThrough(KubeHttp client) {
        source = new KubernetesSource(
                client,
                new MeshAssembler("istio-system", state::set),
                r -> {},
                Duration.ofMillis(20),
                new Heartbeat("mesh-kubernetes", Ticker.system()));
        source.start();
    }

    private static boolean has(MeshSnapshot s, String pod) {
        return s.workload("shop", pod).isPresent();
    }

    @Test
    void unreachableAtStartIsNotReadyNamingTheServerThenSyncsWhenItAnswers() throws Exception {
        gate = new TcpGate(server.apiPort(), false);
        sourceThrough(gate);
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!source.staleReason().contains("unreachable") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(source.staleReason())
                .contains("kubernetes API server " + gate.url())
                .contains("unreachable");
        assertThat(state.get().version()).isZero();
        gate.open();
        await(state, "synced once reachable", s -> s.version() > 0);
        assertThat(source.staleReason()).isEmpty();
    }

    @Test
    void anApiServerRestartKeepsTheLastGoodStateThenCatchesUp() throws Exception {
        KubeFixtures.runningPod(admin, "shop", "before-restart", "10.244.1.20", "Running");
        gate = new TcpGate(server.apiPort(), true);
        sourceThrough(gate);
        MeshSnapshot synced = await(state, "synced", s -> has(s, "before-restart"));
        server.stopApi();
        try {
            Thread.sleep(2_000); // watches fail and retry meanwhile
            assertThat(state.get().version()).isEqualTo(synced.version());
            assertThat(has(state.get(), "before-restart")).isTrue();
            assertThat(source.staleReason())
                    .as("still ready: the data plane serves the last good state")
                    .isEmpty();
            assertThat(source.watching()).as("but the lost watches show").containsValue(false);
        } finally {
            server.startApi();
        }
        KubeFixtures.runningPod(admin, "shop", "after-restart", "10.244.1.21", "Running");
        await(state, "caught up", s -> has(s, "after-restart") && has(s, "before-restart"));
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (source.watching().containsValue(false) && System.nanoTime() < deadline) {
            Thread.sleep(50); // every kind's watch back, not only the Pods'
        }
        assertThat(source.watching()).doesNotContainValue(false);
    }

    @Test
    void aPathThatGoesDeadWithoutAResetIsFoundByPingAndTheWatchesResume() throws Exception {
        KubeFixtures.runningPod(admin, "shop", "before-freeze", "10.244.1.25", "Running");
        gate = new TcpGate(server.apiPort(), true);
        KubeHttp client = new KubeHttp(
                ApiServer.withToken(gate.url(), true, KubeApiServer.ADMIN_TOKEN),
                new Heartbeat("kube-api", Ticker.system()),
                Duration.ofSeconds(1));
        sourceThrough(client);
        await(state, "synced", s -> has(s, "before-freeze"));
        long open = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (source.watching().containsValue(false) && System.nanoTime() < open) {
            Thread.sleep(50); // every watch open first
        }
        assertThat(source.watching()).doesNotContainValue(false);
        gate.freeze(); // no RST, no FIN: only the client's own ping can tell (the watches' idle limit is minutes)
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!source.watching().containsValue(false) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(source.watching())
                .as("the unanswered ping closed the connection")
                .containsValue(false);
        gate.thaw();
        KubeFixtures.runningPod(admin, "shop", "after-thaw", "10.244.1.26", "Running");
        await(state, "caught up on a new connection", s -> has(s, "after-thaw"));
        assertThat(client.connections()).isGreaterThan(1);
    }

    @Test
    void aWatchResumingFromACompactedRevisionRelistsAndLosesNothing() throws Exception {
        KubeFixtures.runningPod(admin, "shop", "goes-away", "10.244.1.30", "Running");
        gate = new TcpGate(server.apiPort(), true);
        sourceThrough(gate);
        await(state, "synced", s -> has(s, "goes-away"));
        gate.shut(); // the source's watches are cut; the admin's client goes straight to the server
        admin.pods()
                .inNamespace("shop")
                .withName("goes-away")
                .withGracePeriod(0)
                .delete();
        KubeFixtures.runningPod(admin, "shop", "came-meanwhile", "10.244.1.31", "Running");
        server.compactEtcd();
        gate.open();
        // a resumed watch cannot replay the deletion (compacted): only a relist after 410 Gone can see it
        await(state, "relisted", s -> !has(s, "goes-away") && has(s, "came-meanwhile"));
    }

    @Test
    void aRotatedTokenFileIsReadAgainWhenTheServerRejectsTheOldToken(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        // as in a pod: the credential is a file the kubelet rewrites; it starts out stale here
        java.nio.file.Path token = dir.resolve("token");
        java.nio.file.Files.writeString(token, "expired-token");
        ApiServer api = new ApiServer(
                java.net.URI.create(server.url()), true, null, null, null, new TokenFile(token), ""); // as in a pod
        source = new KubernetesSource(
                new KubeHttp(api, new Heartbeat("kube-api", Ticker.system())),
                new MeshAssembler("istio-system", state::set),
                r -> {},
                Duration.ofMillis(20),
                new Heartbeat("mesh-kubernetes", Ticker.system()));
        source.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!source.staleReason().contains("unauthorized") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(source.staleReason()).contains("unauthorized");
        java.nio.file.Files.writeString(token, KubeApiServer.ADMIN_TOKEN); // rotated
        java.nio.file.Files.setLastModifiedTime(
                token, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 1000));
        await(state, "synced with the rotated token", s -> s.version() > 0);
    }
}
