package dev.ferry.bench;

import dev.ferry.mesh.kube.KubeApiServer;
import dev.ferry.mesh.kube.KubeFixtures;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A cluster's worth of state in a real kube-apiserver and etcd, for a benchmark's agent to watch: the benchmark's own
 * mesh file (its Services and the pod they reach) plus {@code pods} running pods spread over ten nodes in ten
 * namespaces and {@code services} Services with their EndpointSlices, as KubeSourceBench builds them. Writes a
 * kubeconfig into {@code dir}, logs "ready", and keeps serving until its standard input closes or it is stopped (the
 * API server and etcd go with it).
 *
 * <p>Usage: {@code java -cp bench/target/benchmarks.jar dev.ferry.bench.KubeCluster DIR MESH_FILE PODS SERVICES}.
 */
public final class KubeCluster {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("ferry.bench");

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        String mesh = Files.readString(Path.of(args[1]));
        int pods = Integer.parseInt(args[2]);
        int services = Integer.parseInt(args[3]);
        int perService = Math.max(1, pods / services);
        try (KubeApiServer server = KubeApiServer.start(true);
                KubernetesClient admin = server.client(KubeApiServer.ADMIN_TOKEN)) {
            KubeFixtures.applyMeshFile(admin, mesh); // fixed VIPs first: the API server allocates the rest around them
            for (int n = 0; n < 10; n++) {
                KubeFixtures.namespace(admin, "ns-" + n);
            }
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> work = new ArrayList<>();
            for (int i = 0; i < pods; i++) {
                int p = i;
                work.add(pool.submit(() -> KubeFixtures.runningPod(
                        admin,
                        "ns-" + (p % 10),
                        "pod-" + p,
                        // clear of the benchmark's own pods in 10.244.0.0/24
                        KubeSourceBench.ip(p + 1000),
                        "Running",
                        "svc-" + (p / perService) % services,
                        "node-" + (p % 10 + 1))));
            }
            KubeSourceBench.drain(work);
            for (int i = 0; i < services; i++) {
                int svc = i;
                work.add(pool.submit(
                        () -> KubeSourceBench.serviceWithSlice(admin, svc, perService, services, pods, 1000)));
            }
            KubeSourceBench.drain(work);
            pool.shutdown();
            Path kubeconfig = KubeFixtures.kubeconfig(dir, server.url(), KubeApiServer.ADMIN_TOKEN);
            log.info("ready: {} pods, {} services, kubeconfig {}", pods, services, kubeconfig);
            while (System.in.read() >= 0) {
                // serve until the benchmark closes our input
            }
        }
    }
}
