package dev.ferry.bench;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.kube.KubeApiServer;
import dev.ferry.mesh.kube.KubeFixtures;
import dev.ferry.mesh.kube.KubernetesSource;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.time.Ticker;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;

/**
 * The Kubernetes source at cluster scale, against a real kube-apiserver and etcd on loopback: the heap the mesh state
 * costs (informer stores, converted documents, the indexed snapshot) for 10,000 pods, then for 2,000 Services with
 * their EndpointSlices; and the time from a change in the API to the state the data path reads, over 100 changes.
 *
 * <p>Usage: {@code java -cp bench/target/benchmarks.jar dev.ferry.bench.KubeSourceBench [pods] [services]}.
 */
public final class KubeSourceBench {
    private static final Duration WAIT = Duration.ofMinutes(5);
    private static final Ticker TICKER = Ticker.system();
    /** The results, under a name of their own so {@code make bench-kube} can show them without the clients' logs. */
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("ferry.bench");

    public static void main(String[] args) throws Exception {
        int pods = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int services = args.length > 1 ? Integer.parseInt(args[1]) : 2_000;
        int perService = Math.max(1, pods / services);
        try (KubeApiServer server = KubeApiServer.start(true);
                KubernetesClient admin = server.client(KubeApiServer.ADMIN_TOKEN)) {
            for (int n = 0; n < 10; n++) {
                KubeFixtures.namespace(admin, "ns-" + n);
            }
            AtomicReference<MeshSnapshot> state = new AtomicReference<>(MeshSnapshot.empty());
            KubernetesSource source = new KubernetesSource(
                    server.agentClient(KubeApiServer.ADMIN_TOKEN),
                    new MeshAssembler("istio-system", state::set),
                    r -> {},
                    Duration.ofMillis(20),
                    new Heartbeat("mesh-kubernetes", Ticker.system()));
            long base = settledHeap();
            source.start();
            await(state, s -> s.version() > 0);
            long empty = settledHeap();

            ExecutorService pool = Executors.newFixedThreadPool(8);
            long t0 = TICKER.nanoTime();
            List<Future<?>> work = new ArrayList<>();
            for (int i = 0; i < pods; i++) {
                int p = i;
                work.add(pool.submit(() -> KubeFixtures.runningPod(
                        admin, "ns-" + (p % 10), "pod-" + p, ip(p), "Running", "svc-" + (p / perService) % services)));
            }
            drain(work);
            log.info(String.format(Locale.ROOT, "created %d pods in %.1f s", pods, (TICKER.nanoTime() - t0) / 1e9));
            await(state, s -> s.workloads().size() == pods);
            long withPods = settledHeap();

            t0 = TICKER.nanoTime();
            for (int i = 0; i < services; i++) {
                int svc = i;
                work.add(pool.submit(() -> serviceWithSlice(admin, svc, perService, services, pods, 0)));
            }
            drain(work);
            log.info(String.format(
                    Locale.ROOT, "created %d services and slices in %.1f s", services, (TICKER.nanoTime() - t0) / 1e9));
            await(
                    state,
                    // and the API server's own Service, default/kubernetes
                    s -> s.services().size() == services + 1
                            && s.endpointSlices().size() == services);
            long withServices = settledHeap();
            pool.shutdown();

            double mb = 1024.0 * 1024.0;
            log.info(String.format(
                    Locale.ROOT,
                    "heap: empty state %.1f MB over the client alone; %d pods +%.1f MB (%.2f MB per 1,000);"
                            + " %d services with slices +%.1f MB (%.2f MB per 1,000); total %.1f MB",
                    (empty - base) / mb,
                    pods,
                    (withPods - empty) / mb,
                    (withPods - empty) / mb / (pods / 1000.0),
                    services,
                    (withServices - withPods) / mb,
                    (withServices - withPods) / mb / (services / 1000.0),
                    (withServices - base) / mb));

            // change -> state: the slice of svc-0 moves to a fresh address, 100 times, one at a time
            InetSocketAddress vip = new InetSocketAddress(
                    InetAddress.getByName(admin.services()
                            .inNamespace("ns-0")
                            .withName("svc-0")
                            .get()
                            .getSpec()
                            .getClusterIP()),
                    80);
            double[] ms = new double[100];
            for (int i = 0; i < ms.length; i++) {
                String address = "10.244.250." + (i + 1);
                long start = TICKER.nanoTime();
                slice(admin, 0, List.of(address));
                await(state, s -> {
                    ServiceBinding b = s.bindingFor(vip);
                    return b != null
                            && b.endpoints().size() == 1
                            && b.endpoints()
                                    .getFirst()
                                    .address()
                                    .getAddress()
                                    .getHostAddress()
                                    .equals(address);
                });
                ms[i] = (TICKER.nanoTime() - start) / 1e6;
            }
            Arrays.sort(ms);
            log.info(String.format(
                    Locale.ROOT,
                    "change -> data path over %d changes (%d pods, %d services): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                    ms.length,
                    pods,
                    services,
                    ms[ms.length / 2],
                    ms[(int) Math.ceil(ms.length * 0.99) - 1],
                    ms[ms.length - 1]));
            source.close();
        }
    }

    static String ip(int i) {
        return "10.244." + (i / 250) + "." + (i % 250 + 1);
    }

    static void serviceWithSlice(KubernetesClient admin, int svc, int perService, int services, int pods, int firstIp) {
        String ns = "ns-" + (svc % 10);
        admin.services()
                .inNamespace(ns)
                .resource(new ServiceBuilder()
                        .withNewMetadata()
                        .withName("svc-" + svc)
                        .withNamespace(ns)
                        .endMetadata()
                        .withNewSpec()
                        .addToSelector("app", "svc-" + svc)
                        .addNewPort()
                        .withName("http")
                        .withPort(80)
                        .withNewTargetPort(8080)
                        .endPort()
                        .endSpec()
                        .build())
                .create();
        // what the EndpointSlice controller would write (it does not run here): the selected pods' addresses
        List<String> ips = new ArrayList<>();
        for (int p = 0; p < pods; p++) {
            if ((p / perService) % services == svc && p % 10 == svc % 10) {
                ips.add(ip(p + firstIp));
            }
        }
        slice(admin, svc, ips);
    }

    private static void slice(KubernetesClient admin, int svc, List<String> ips) {
        KubeFixtures.slice(admin, "ns-" + (svc % 10), "svc-" + svc + "-1", "svc-" + svc, ips);
    }

    static void drain(List<Future<?>> work) throws Exception {
        for (Future<?> f : work) {
            f.get();
        }
        work.clear();
    }

    private static void await(AtomicReference<MeshSnapshot> state, Predicate<MeshSnapshot> p) throws Exception {
        long deadline = TICKER.nanoTime() + WAIT.toNanos();
        while (!p.test(state.get())) {
            if (TICKER.nanoTime() > deadline) {
                throw new IllegalStateException(
                        "not within " + WAIT + ": state version " + state.get().version());
            }
            Thread.sleep(0, 200_000);
        }
    }

    /** Used heap after full collections, once it stops shrinking. */
    private static long settledHeap() throws InterruptedException {
        var mem = ManagementFactory.getMemoryMXBean();
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(200);
            long used = mem.getHeapMemoryUsage().getUsed();
            if (used >= last) {
                return used;
            }
            last = used;
        }
        return last;
    }
}
