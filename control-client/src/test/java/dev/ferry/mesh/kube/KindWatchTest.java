package dev.ferry.mesh.kube;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.health.Heartbeat;
import dev.ferry.time.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The list-and-watch protocol and the bad answers a watch must survive, against a <b>fake</b> API server
 * ({@link FakeApiServer}): no real server sends a line that is not JSON, or an ERROR event on demand. The common
 * path (list, watch, 410 after a compaction, RBAC, outages) is tested against the real one in {@link
 * KubernetesSourceTest} and {@link KubernetesSourceFaultsTest}.
 */
class KindWatchTest {
    private static final String PODS = "/api/v1/pods";
    private static final Duration WAIT = Duration.ofSeconds(20);

    private FakeApiServer api;
    private KubeHttp http;
    private KindWatch watch;
    private final Map<String, String> objects = new ConcurrentHashMap<>();
    private final List<String> failures = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        api = new FakeApiServer();
        http = new KubeHttp(ApiServer.withToken(api.url(), false, "t"), new Heartbeat("kube-api", Ticker.system()));
    }

    @AfterEach
    void stop() {
        if (watch != null) {
            watch.stop();
        }
        http.close();
        api.close();
    }

    private void pod(String name, String label) {
        api.put(PODS, """
                {apiVersion: v1, kind: Pod, metadata: {name: %s, namespace: shop, labels: {l: "%s"}},
                 spec: {nodeName: node-1}, status: {phase: Running, podIP: 10.244.1.5}}
                """.formatted(name, label));
    }

    private void watch(int pageSize, int maxPageBytes) {
        watch = new KindWatch(
                http,
                CoreKinds.POD,
                new WatchHandler() {
                    @Override
                    public void put(String namespace, String name, JsonNode object) {
                        assertThat(object.path("kind").asString()).isEqualTo("Pod");
                        assertThat(object.path("apiVersion").asString()).isEqualTo("v1");
                        objects.put(
                                namespace + "/" + name,
                                object.path("metadata").path("labels").path("l").asString());
                    }

                    @Override
                    public void remove(String namespace, String name) {
                        objects.remove(namespace + "/" + name);
                    }
                },
                new KindWatch.Reporter() {
                    @Override
                    public void failed(String kind, KubeApiException e) {
                        failures.add(e.describe());
                    }

                    @Override
                    public void recovered(String kind) {}
                },
                pageSize,
                maxPageBytes);
        watch.start();
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private long lists() {
        return api.requests.stream().filter(r -> r.startsWith(PODS + "?limit=")).count();
    }

    @Test
    void pagesTheListThenFollowsTheWatchAndResumesItWhereTheServerEndedIt() throws Exception {
        for (int i = 0; i < 7; i++) {
            pod("p" + i, "a");
        }
        watch(3, 1 << 20);
        await("synced", watch::synced);
        assertThat(objects).hasSize(7);
        assertThat(api.requests)
                .filteredOn(r -> r.startsWith(PODS + "?limit=3"))
                .hasSize(3); // 3 + 3 + 1
        await("watching", () -> watch.watching() && api.watchers(PODS) == 1);
        pod("p1", "b");
        api.delete(PODS, "shop", "p2");
        await("the watch's events", () -> "b".equals(objects.get("shop/p1")) && !objects.containsKey("shop/p2"));
        String version = watch.resourceVersion();
        api.endWatches(PODS); // the server's timeout
        await(
                "watching again",
                () -> api.requests.stream()
                        .anyMatch(r -> r.contains("watch=true") && r.endsWith("resourceVersion=" + version)));
        assertThat(lists()).as("resumed, not relisted").isEqualTo(3);
        assertThat(failures).isEmpty();
    }

    @Test
    void a410RelistsAndWhatVanishedMeanwhileIsRemoved() throws Exception {
        pod("a", "1");
        pod("b", "1");
        watch(500, 1 << 20);
        await("watching", () -> watch.watching() && api.watchers(PODS) == 1);
        api.forget(PODS, "shop", "b"); // its DELETED event lost, as across a compaction
        api.send(PODS, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}}");
        await("relisted", () -> !objects.containsKey("shop/b"));
        assertThat(objects).containsOnlyKeys("shop/a");
        assertThat(failures).as("a 410 is the protocol, not a failure").isEmpty();
    }

    @Test
    void badLinesDropTheStreamWhichIsRelistedAfterABackoff() throws Exception {
        pod("a", "1");
        watch(500, 1 << 20);
        for (String bad : List.of(
                "this is not json",
                "{\"type\":\"SURPRISE\",\"object\":{}}",
                "{\"type\":\"ADDED\"}",
                "{\"type\":\"ADDED\",\"object\":" + "[".repeat(2_000) + "}",
                "x".repeat(KindWatch.MAX_EVENT_BYTES + 10))) {
            await("watching", watch::watching); // (the fake keeps a dropped watch until it next writes to it)
            int before = failures.size();
            api.send(PODS, bad);
            await("the bad line reported", () -> failures.size() > before);
            assertThat(failures.get(before)).startsWith("bad answer: ");
        }
        assertThat(failures)
                .anyMatch(f -> f.contains("not JSON"))
                .anyMatch(f -> f.contains("unknown type 'SURPRISE'"))
                .anyMatch(f -> f.contains("without an object"))
                .anyMatch(f -> f.contains("longer than"));
        await("watching after it all", watch::watching);
        pod("a", "2");
        await("events flow again", () -> "2".equals(objects.get("shop/a")));
    }

    @Test
    void aRefusedListIsReportedInTheServersWordsAndRetried() throws Exception {
        api.override(PODS, 403, "{\"kind\":\"Status\",\"code\":403,\"message\":\"pods is forbidden: no\"}");
        pod("a", "1");
        watch(500, 1 << 20);
        await("refused", () -> !failures.isEmpty());
        assertThat(failures.get(0)).startsWith("forbidden by RBAC: pods is forbidden: no");
        assertThat(watch.synced()).isFalse();
        api.override(PODS, 200, "{not json");
        await("the broken answer", () -> failures.stream().anyMatch(f -> f.contains("not JSON")));
        api.override(PODS, 0, null);
        await("synced once allowed", watch::synced);
        assertThat(objects).containsOnlyKeys("shop/a");
    }

    @Test
    void aPageOverTheLimitIsAskedForAgainWithFewerObjects() throws Exception {
        for (int i = 0; i < 6; i++) {
            pod("p" + i, "x".repeat(300));
        }
        watch(6, 1_200); // six ~450-byte pods do not fit; two do
        await("synced", watch::synced);
        assertThat(objects).hasSize(6);
        assertThat(api.requests)
                .anyMatch(r -> r.startsWith(PODS + "?limit=3"))
                .anyMatch(r -> r.startsWith(PODS + "?limit=1"));
        assertThat(failures).isEmpty();
    }
}
