package dev.ferry.mesh.source;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.Workload;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshFileSourceTest {
    @TempDir
    Path dir;

    private final AtomicReference<MeshSnapshot> current = new AtomicReference<>();
    private final List<ReloadReport> reports = new CopyOnWriteArrayList<>();

    private MeshFileSource source(Path p) {
        return new MeshFileSource(p, current::set, reports::add);
    }

    static String fixture(String name) throws IOException {
        try (InputStream in = MeshFileSourceTest.class.getResourceAsStream("/fixtures/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void loadsKubectlOutputUnchanged() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, fixture("kubectl-get-ns-pods-svc.yaml"));
        ReloadReport r = source(f).reload();

        assertThat(r.errors()).isEmpty();
        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.APPLIED);
        MeshSnapshot s = current.get();
        assertThat(s.namespaces()).containsKeys("shop", "kube-system");
        assertThat(s.namespaces().get("shop").enrolled()).isTrue();
        assertThat(s.workloads()).hasSize(4);

        Workload web = s.workload("shop", "web-7c9d8f6b5-abcde").orElseThrow();
        assertThat(web.inMesh()).isTrue();
        assertThat(web.ready()).isTrue();
        assertThat(web.node()).isEqualTo("node-1");
        assertThat(web.identity("cluster.local").uri()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
        assertThat(web.namedPorts()).containsEntry("http", 8080).containsEntry("metrics", 9090);
        assertThat(s.workloadByIp(InetAddress.getByName("10.244.1.5"))).contains(web);

        Workload dns = s.workload("kube-system", "coredns-5d78c9869d-q7w8e").orElseThrow();
        assertThat(dns.inMesh()).as("kube-system is not enrolled").isFalse();
        // hostNetwork pods carry the node IP: never indexed as a workload address
        assertThat(s.workloadByIp(InetAddress.getByName("192.168.10.11"))).isEmpty();
        assertThat(s.workloadsOnNode("node-1")).hasSize(3);
    }

    @Test
    void derivesEndpointsFromSelectorsOverReadyPodsWithNamedTargetPorts() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, fixture("kubectl-get-ns-pods-svc.yaml"));
        source(f).reload();
        MeshSnapshot s = current.get();

        ServiceBinding http = s.bindingFor(new InetSocketAddress(InetAddress.getByName("10.96.0.10"), 80));
        assertThat(http).isNotNull();
        assertThat(http.port().appProtocol()).isEqualTo("http");
        // only the ready pod, at the number its container port named "http" resolves to
        assertThat(http.endpoints())
                .extracting(Endpoint::address)
                .containsExactly(new InetSocketAddress(InetAddress.getByName("10.244.1.5"), 8080));

        ServiceBinding metrics = s.bindingFor(new InetSocketAddress(InetAddress.getByName("10.96.0.10"), 9090));
        assertThat(metrics.endpoints()).hasSize(1);

        // UDP ports are not relayed; the TCP port of the same number is
        ServiceBinding dnsTcp = s.bindingFor(new InetSocketAddress(InetAddress.getByName("10.96.0.2"), 53));
        assertThat(dnsTcp.port().name()).isEqualTo("dns-tcp");
        assertThat(dnsTcp.endpoints()).extracting(e -> e.address().getPort()).containsExactly(53);

        assertThat(s.bindingFor(new InetSocketAddress(InetAddress.getByName("10.96.0.10"), 81)))
                .isNull();
        assertThat(s.service("shop", "web-headless").orElseThrow().vips()).isEmpty();
    }

    @Test
    void unknownFieldIsAnErrorNamingDocumentAndFieldAndTheRestApplies() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, """
                apiVersion: v1
                kind: Namespace
                metadata: {name: a, labels: {ferry.dev/mesh: enabled}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: p1, namespace: a}
                spec:
                  containers: [{name: c, image: x, portz: [{containerPort: 80}]}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: s, namespace: a}
                spec: {clusterIP: 10.96.0.5, ports: [{port: 80}], selector: {app: x}}
                """);
        ReloadReport r = source(f).reload();

        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.PARTIAL);
        assertThat(r.errors()).hasSize(1);
        DocumentError e = r.errors().getFirst();
        assertThat(e.origin()).isEqualTo("mesh.yaml#2");
        assertThat(e.key()).isEqualTo(new DocumentKey("Pod", "a", "p1"));
        assertThat(e.message()).contains("spec.containers[0].portz");
        assertThat(current.get().services()).hasSize(1);
        assertThat(current.get().workloads()).isEmpty();
    }

    @Test
    void invalidDocumentKeepsItsLastGoodVersion() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        MeshFileSource src = source(f);
        Files.writeString(f, pod("p1", "10.244.0.5") + "---\n" + pod("p2", "10.244.0.6"));
        src.reload();
        assertThat(current.get().workloads()).hasSize(2);

        Files.writeString(f, pod("p1", "10.244.0.300") + "---\n" + pod("p2", "10.244.0.7"));
        ReloadReport r = src.reload();

        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.PARTIAL);
        assertThat(r.errors().getFirst().message()).contains("status.podIP").contains("10.244.0.300");
        MeshSnapshot s = current.get();
        assertThat(s.workload("default", "p1").orElseThrow().ips())
                .containsExactly(InetAddress.getByName("10.244.0.5"));
        assertThat(s.workload("default", "p2").orElseThrow().ips())
                .containsExactly(InetAddress.getByName("10.244.0.7"));
        assertThat(s.version()).isEqualTo(2);
    }

    @Test
    void fileThatIsNotYamlKeepsTheWholeLastGoodSnapshot() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        MeshFileSource src = source(f);
        Files.writeString(f, pod("p1", "10.244.0.5"));
        src.reload();
        MeshSnapshot good = current.get();

        Files.writeString(f, "apiVersion: v1\nkind: Pod\n  metadata: [unclosed\n\t: :");
        ReloadReport r = src.reload();

        assertThat(r.outcome()).isEqualTo(ReloadReport.Outcome.REJECTED);
        assertThat(r.detail()).contains("mesh.yaml").contains("not YAML");
        assertThat(current.get()).isSameAs(good);
        assertThat(r.version()).isEqualTo(1);
    }

    @Test
    void unchangedFilesDoNotPublish() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        MeshFileSource src = source(f);
        Files.writeString(f, pod("p1", "10.244.0.5"));
        src.reload();
        MeshSnapshot first = current.get();
        assertThat(src.reload().outcome()).isEqualTo(ReloadReport.Outcome.UNCHANGED);
        assertThat(current.get()).isSameAs(first);
    }

    @Test
    void badValuesAndUnsupportedKindsAreIsolated() throws Exception {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, """
                apiVersion: v1
                kind: Service
                metadata: {name: bad-port}
                spec: {clusterIP: 10.96.0.5, ports: [{port: 70000}]}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: bad-type}
                spec: {clusterIP: 10.96.0.6, ports: [{port: "eighty"}]}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: bad-vip}
                spec: {clusterIP: web.example.com, ports: [{port: 80}]}
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: d}
                ---
                - just
                - a list
                ---
                apiVersion: v1
                kind: Pod
                metadata: {namespace: x}
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: ok}
                spec: {clusterIP: 10.96.0.7, ports: [{port: 80, targetPort: 8080}]}
                """);
        ReloadReport r = source(f).reload();

        List<String> messages = new ArrayList<>();
        r.errors().forEach(e -> messages.add(e.toString()));
        assertThat(messages).hasSize(6);
        assertThat(messages.get(0)).contains("Service default/bad-port").contains("spec.ports[0].port");
        assertThat(messages.get(1)).contains("bad-type").contains("spec.ports[0].port");
        assertThat(messages.get(2))
                .contains("bad-vip")
                .contains("spec.clusterIP")
                .contains("not an IP");
        assertThat(messages.get(3)).contains("unsupported kind").contains("Deployment");
        assertThat(messages.get(4)).contains("must be a mapping");
        assertThat(messages.get(5)).contains("metadata.name: required");
        assertThat(current.get().services()).extracting(s -> s.name()).containsExactly("ok");
    }

    @Test
    void directoryOfFilesLikeAConfigMapMountIsWatched() throws Exception {
        // A ConfigMap volume: visible names are symlinks into ..data, itself a symlink swapped atomically.
        Path v1 = Files.createDirectory(dir.resolve("..2026_11_25_v1"));
        Files.writeString(v1.resolve("mesh.yaml"), pod("p1", "10.244.0.5"));
        Files.createSymbolicLink(dir.resolve("..data"), v1.getFileName());
        Files.createSymbolicLink(dir.resolve("mesh.yaml"), Path.of("..data/mesh.yaml"));

        try (MeshFileSource src = source(dir)) {
            src.reload();
            assertThat(current.get().workloads()).hasSize(1);
            src.startWatching(Duration.ofMillis(200));

            Path v2 = Files.createDirectory(dir.resolve("..2026_11_25_v2"));
            Files.writeString(v2.resolve("mesh.yaml"), pod("p1", "10.244.0.5") + "---\n" + pod("p2", "10.244.0.6"));
            Path tmp = dir.resolve("..data_tmp");
            Files.createSymbolicLink(tmp, v2.getFileName());
            Files.move(tmp, dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);

            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (current.get().workloads().size() != 2 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(current.get().workloads()).hasSize(2);
        }
    }

    static String pod(String name, String ip) {
        return """
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: default, uid: uid-%s, labels: {app: x}}
                spec: {nodeName: n1, containers: [{name: c, image: i}]}
                status: {phase: Running, podIP: %s, conditions: [{type: Ready, status: "True"}]}
                """.formatted(name, name, ip);
    }
}
