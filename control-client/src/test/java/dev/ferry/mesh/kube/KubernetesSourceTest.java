package dev.ferry.mesh.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.mesh.source.ReloadReport;
import dev.ferry.time.Ticker;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Kubernetes source against a real kube-apiserver and etcd on loopback (see {@link KubeApiServer}): every kind
 * synced, changes reaching the state, invalid resources isolated, a CRD installed late, RBAC refusals named.
 */
class KubernetesSourceTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static KubeApiServer server;
    private static KubernetesClient admin;

    private final AtomicReference<MeshSnapshot> state = new AtomicReference<>(MeshSnapshot.empty());
    private final List<ReloadReport> reports = new CopyOnWriteArrayList<>();
    private KubernetesSource source;
    private KubeHttp client;

    @BeforeAll
    static void startServer() throws Exception {
        server = KubeApiServer.start(true);
        admin = server.client(KubeApiServer.ADMIN_TOKEN);
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
    void closeSource() {
        if (source != null) {
            source.close();
        }
    }

    private KubernetesSource source(String token) throws IOException {
        client = server.agentClient(token);
        source = new KubernetesSource(
                client,
                new MeshAssembler("istio-system", state::set),
                reports::add,
                Duration.ofMillis(20),
                new Heartbeat("mesh-kubernetes", Ticker.system()));
        source.start();
        return source;
    }

    @Test
    void theServersCertificateIsVerifiedAgainstTheConfiguredCaAndName() throws Exception {
        byte[] ca = java.nio.file.Files.readAllBytes(server.servingCertificate());
        var hb = new Heartbeat("kube-api", Ticker.system());
        var url = java.net.URI.create(server.url());
        try (KubeHttp verified = new KubeHttp(
                new ApiServer(url, false, ca, null, null, BearerToken.of(KubeApiServer.ADMIN_TOKEN), ""), hb)) {
            var r = verified.send(io.netty.handler.codec.http.HttpMethod.GET, "/version", null, null, 1 << 20, WAIT)
                    .get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.json().path("major").asString()).isEqualTo("1");
        }
        try (KubeHttp untrusted = new KubeHttp(
                new ApiServer(url, false, null, null, null, BearerToken.of(KubeApiServer.ADMIN_TOKEN), ""), hb)) {
            assertThatThrownBy(() -> untrusted
                            .send(io.netty.handler.codec.http.HttpMethod.GET, "/version", null, null, 1 << 20, WAIT)
                            .get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS))
                    .as("the JDK's default trust does not know a self-signed server")
                    .cause()
                    .isInstanceOf(KubeApiException.class)
                    .satisfies(
                            e -> assertThat(((KubeApiException) e).describe()).startsWith("unreachable: "));
        }
    }

    static MeshSnapshot await(AtomicReference<MeshSnapshot> state, String what, Predicate<MeshSnapshot> p)
            throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            MeshSnapshot s = state.get();
            if (p.test(s)) {
                return s;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("within " + WAIT + ": " + what + "; last state version "
                + state.get().version());
    }

    static List<String> endpoints(MeshSnapshot s, String vip) throws Exception {
        ServiceBinding b = s.bindingFor(new InetSocketAddress(InetAddress.getByName(vip), 80));
        return b == null
                ? List.of()
                : b.endpoints().stream().map(Endpoint::describe).toList();
    }

    @Test
    void syncsEveryKindThenFollowsAddsUpdatesAndDeletes() throws Exception {
        KubeFixtures.installCrds(admin);
        KubeFixtures.namespace(admin, "shop");
        KubeFixtures.runningPod(admin, "shop", "web-1", "10.244.1.5", "Running");
        KubeFixtures.runningPod(admin, "shop", "job-1", "10.244.1.9", "Succeeded");
        String vip = KubeFixtures.service(admin, "shop", "web", true);
        String legacyVip = KubeFixtures.service(admin, "shop", "legacy", false);
        KubeFixtures.slice(admin, "shop", "legacy-1", "legacy", List.of("192.168.50.7"));
        KubeFixtures.apply(admin, """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web, namespace: shop}
                spec:
                  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
                  rules: [{backendRefs: [{name: web, port: 80}]}]
                ---
                apiVersion: security.istio.io/v1
                kind: PeerAuthentication
                metadata: {name: default, namespace: shop}
                spec: {mtls: {mode: STRICT}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: shop}
                spec:
                  host: web.shop.svc.cluster.local
                  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}
                """);

        source(KubeApiServer.ADMIN_TOKEN);
        assertThat(source.staleReason()).isNotEmpty(); // not yet: readiness waits for the first full sync
        MeshSnapshot s = await(state, "first state", x -> x.version() > 0);
        assertThat(source.staleReason()).isEmpty();

        assertThat(s.namespaces().get("shop").enrolled()).isTrue();
        assertThat(s.workloads()).extracting(w -> w.key()).containsExactly("shop/web-1"); // the finished job: none
        assertThat(s.workload("shop", "web-1").orElseThrow().inMesh()).isTrue();
        assertThat(endpoints(s, vip)).containsExactly("shop/web-1@10.244.1.5:8080"); // no slice: by selector
        assertThat(endpoints(s, legacyVip)).containsExactly("192.168.50.7:8080"); // no selector: by its slice
        assertThat(s.routes().routes().isEmpty()).isFalse();
        assertThat(s.peerAuthentications()).hasSize(1);
        assertThat(s.destinationRules()).hasSize(1);
        assertThat(s.origin().source()).isEqualTo("kubernetes");
        assertThat(client.connections())
                .as("the probes, every list and every watch: streams of one HTTP/2 connection")
                .isEqualTo(1);
        assertThat(s.origin().location()).isEqualTo(server.url());
        assertThat(s.origin().versions())
                .containsKeys("Namespace", "Pod", "Service", "EndpointSlice", "HTTPRoute", "AuthorizationPolicy")
                .allSatisfy((k, v) -> assertThat(v).as(k).isNotEmpty());

        // a slice changing: the Service follows it
        KubeFixtures.slice(admin, "shop", "legacy-1", "legacy", List.of("192.168.50.8", "192.168.50.9"));
        await(state, "slice update", x -> {
            try {
                return endpoints(x, legacyVip).equals(List.of("192.168.50.8:8080", "192.168.50.9:8080"));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        // a DENY policy created through the API: compiled into the state with the rest
        var engineBefore = state.get().authz();
        KubeFixtures.apply(admin, """
                apiVersion: security.istio.io/v1
                kind: AuthorizationPolicy
                metadata: {name: deny-all, namespace: shop}
                spec: {action: DENY, rules: [{}]}
                """);
        MeshSnapshot withPolicy = await(state, "policy", x -> x.policies().size() == 1);
        assertThat(withPolicy.authz()).isNotSameAs(engineBefore);
        assertThat(withPolicy.policies().getFirst().valid()).isTrue();
        // deletes
        // no kubelet here to confirm a graceful deletion: forced, as a kubelet's confirmation would end it
        admin.pods().inNamespace("shop").withName("web-1").withGracePeriod(0).delete();
        admin.genericKubernetesResources("security.istio.io/v1", "AuthorizationPolicy")
                .inNamespace("shop")
                .withName("deny-all")
                .delete();
        MeshSnapshot after = await(
                state, "deletes", x -> x.workloads().isEmpty() && x.policies().isEmpty());
        assertThat(endpoints(after, vip)).isEmpty();
        assertThat(after.bindingFor(new InetSocketAddress(InetAddress.getByName(vip), 80))
                        .service()
                        .key())
                .as("a VIP with no endpoints keeps its Service")
                .isEqualTo("shop/web");
    }

    @Test
    void anInvalidResourceIsIsolatedAndItsLastGoodVersionKept() throws Exception {
        KubeFixtures.installCrds(admin);
        KubeFixtures.namespace(admin, "isolated");
        KubeFixtures.apply(admin, """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web, namespace: isolated}
                spec:
                  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
                  rules: [{backendRefs: [{name: web, port: 80}]}]
                """);
        source(KubeApiServer.ADMIN_TOKEN);
        await(
                state,
                "route",
                x -> !x.routes().routes().isEmpty() && x.namespaces().containsKey("isolated"));
        KubeFixtures.apply(admin, """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: web, namespace: isolated}
                spec:
                  parentRefs: [{group: "", kind: Service, name: web, port: 80}]
                  rules: [{backendRefs: [{name: web, port: 99999}]}]
                ---
                apiVersion: v1
                kind: Namespace
                metadata: {name: isolated-2}
                """);
        await(state, "the next change", x -> x.namespaces().containsKey("isolated-2"));
        // the route's rejection and the namespace travel through different informers: wait for the report
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline
                && reports.stream().noneMatch(r -> r.outcome() == ReloadReport.Outcome.PARTIAL)) {
            Thread.sleep(20);
        }
        assertThat(state.get().routes().routes())
                .as("the last good route stays")
                .isNotEmpty();
        ReloadReport partial = reports.stream()
                .filter(r -> r.outcome() == ReloadReport.Outcome.PARTIAL)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no partial report: " + reports));
        assertThat(partial.errors()).singleElement().satisfies(e -> {
            assertThat(e.key().toString()).isEqualTo("HTTPRoute isolated/web");
            assertThat(e.message()).contains("backendRefs[0].port");
        });
    }

    @Test
    void aKindWhoseCrdIsInstalledLaterIsReadFromThen() throws Exception {
        // this test's server has CRDs only if an earlier test installed them: remove them first
        for (CustomKind k : CustomKind.ALL) {
            admin.apiextensions()
                    .v1()
                    .customResourceDefinitions()
                    .withName(k.crdName())
                    .delete();
        }
        await(
                state,
                "no CRDs",
                x -> admin.apiextensions()
                        .v1()
                        .customResourceDefinitions()
                        .list()
                        .getItems()
                        .isEmpty());
        source(KubeApiServer.ADMIN_TOKEN);
        MeshSnapshot first = await(state, "synced without CRDs", x -> x.version() > 0);
        assertThat(first.policies()).isEmpty();
        KubeFixtures.installCrds(admin);
        KubeFixtures.namespace(admin, "late");
        KubeFixtures.apply(admin, """
                apiVersion: security.istio.io/v1beta1
                kind: AuthorizationPolicy
                metadata: {name: allow-nothing, namespace: late}
                spec: {}
                """);
        await(
                state,
                "policy of a CRD installed after the start",
                x -> x.policies().size() == 1);
    }

    @Test
    void rbacRefusalIsNamedUntilTheClusterRoleIsBound() throws Exception {
        source(KubeApiServer.AGENT_TOKEN);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!source.staleReason().contains("cannot list resource \"pods\"") && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(source.staleReason())
                .contains("forbidden by RBAC")
                .contains(KubeApiServer.AGENT_USER)
                .contains("cannot list resource")
                .contains("pods");
        assertThat(state.get().version()).isZero();
        // the DaemonSet's own ClusterRole and binding, from the manifest: then it syncs
        KubeFixtures.namespace(admin, "ferry-system");
        String manifest = java.nio.file.Files.readString(java.nio.file.Path.of("../deploy/daemonset.yaml"));
        for (String doc : manifest.split("(?m)^---$")) {
            if (doc.contains("kind: ClusterRole\n") || doc.contains("kind: ClusterRoleBinding")) {
                KubeFixtures.apply(admin, doc);
            }
        }
        await(state, "synced once allowed", x -> x.version() > 0);
        assertThat(source.staleReason()).isEmpty();
        // and the whole manifest is accepted by the API server: every document, the DaemonSet included
        for (var item : admin.load(
                        new java.io.ByteArrayInputStream(manifest.getBytes(java.nio.charset.StandardCharsets.UTF_8)))
                .items()) {
            if (item instanceof io.fabric8.kubernetes.api.model.apps.DaemonSet ds) {
                // The surge upgrade (maxSurge 1, maxUnavailable 0) needs Kubernetes 1.22+; 1.20, the server built
                // here, refuses exactly that and nothing else, and takes the DaemonSet with one pod unavailable.
                assertThatThrownBy(() -> admin.resource(ds).create())
                        .hasMessageContaining("spec.updateStrategy.rollingUpdate.maxUnavailable")
                        .hasMessageNotContaining("spec.template");
                ds.getSpec()
                        .getUpdateStrategy()
                        .getRollingUpdate()
                        .setMaxUnavailable(new io.fabric8.kubernetes.api.model.IntOrString(1));
                ds.getSpec().getUpdateStrategy().getRollingUpdate().setMaxSurge(null);
            }
            assertThat(admin.resource(item).createOr(x -> x.update()))
                    .as(item.getKind() + " " + item.getMetadata().getName())
                    .isNotNull();
        }
        var created = admin.apps()
                .daemonSets()
                .inNamespace("ferry-system")
                .withName("ferry-agent")
                .get();
        assertThat(created).isNotNull();
        // No controller runs here to create its pods: one made from the template, server-side dry run, passes the
        // pod validation and admission (the system-node-critical priority class resolves) as a node's pod would.
        var template = created.getSpec().getTemplate();
        var pod = new io.fabric8.kubernetes.api.model.PodBuilder()
                .withNewMetadata()
                .withName("ferry-agent-dry-run")
                .withNamespace("ferry-system")
                .withLabels(template.getMetadata().getLabels())
                .withAnnotations(template.getMetadata().getAnnotations())
                .endMetadata()
                .withSpec(template.getSpec())
                .build();
        var admitted =
                admin.pods().inNamespace("ferry-system").resource(pod).dryRun().create();
        assertThat(admitted.getSpec().getPriority()).as("system-node-critical").isEqualTo(2000001000);
        assertThat(admin.pods()
                        .inNamespace("ferry-system")
                        .withName("ferry-agent-dry-run")
                        .get())
                .as("a dry run creates nothing")
                .isNull();
    }
}
