package dev.ferry.bench;

import dev.ferry.agent.routing.Hashing;
import dev.ferry.agent.routing.RequestBalancer;
import dev.ferry.agent.routing.RoundRobinBalancer;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.lb.LoadBalancing;
import dev.ferry.mesh.route.RequestView;
import dev.ferry.mesh.route.RouteTable;
import dev.ferry.mesh.source.MeshFileSource;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The per-request cost of L7 decisions: matching a request against a Service's HTTPRoutes when the mesh holds
 * {@code routes} of them (one Service carries ten rules of path, header and method matches; the rest attach to other
 * Services), and each balancer's pick over 10 endpoints.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class L7Bench {
    @Param({"1000"})
    public int routes;

    private RouteTable table;
    private RequestView hit;
    private RequestView miss;
    private ServiceBinding binding;
    private RequestBalancer balancer;
    private final LoadBalancing ring = new LoadBalancing.ConsistentHash(
            new LoadBalancing.HashKey.Header("x-user"), LoadBalancing.Table.RING_HASH, 1024);
    private final LoadBalancing maglev = new LoadBalancing.ConsistentHash(
            new LoadBalancing.HashKey.Header("x-user"), LoadBalancing.Table.MAGLEV, 65537);
    private long[] keys;
    private int i;

    private record View(String method, String path, java.util.Map<String, String> headers) implements RequestView {
        @Override
        public String header(String lowerCaseName) {
            return headers.get(lowerCaseName);
        }

        @Override
        public String queryParam(String name) {
            return null;
        }
    }

    @Setup
    public void setUp() throws IOException {
        StringBuilder yaml = new StringBuilder("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: ns}
                ---
                """);
        for (int s = 0; s < routes / 10; s++) {
            yaml.append(String.format(Locale.ROOT, """
                    apiVersion: v1
                    kind: Service
                    metadata: {name: svc%1$d, namespace: ns}
                    spec: {clusterIP: 10.96.%2$d.%3$d, ports: [{name: http, port: 80}], selector: {app: a%1$d}}
                    ---
                    """, s, s / 250, s % 250 + 1));
            for (int p = 0; p < 10; p++) {
                yaml.append(String.format(Locale.ROOT, """
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: p%1$d-%2$d, namespace: ns, uid: u%1$d-%2$d, labels: {app: a%1$d}}
                    spec: {nodeName: n, containers: [{name: c, image: i}]}
                    status: {phase: Running, podIP: 10.%3$d.%4$d.%5$d, conditions: [{type: Ready, status: "True"}]}
                    ---
                    """, s, p, 100 + s / 250, s % 250, p + 1));
            }
            for (int r = 0; r < 10; r++) {
                yaml.append(String.format(Locale.ROOT, """
                    apiVersion: gateway.networking.k8s.io/v1
                    kind: HTTPRoute
                    metadata: {name: r%1$d-%2$d, namespace: ns}
                    spec:
                      parentRefs: [{kind: Service, name: svc%1$d, port: 80}]
                      rules:
                      - matches: [{path: {type: PathPrefix, value: /api/v%2$d}, headers: [{name: x-tier, value: gold}], method: GET}]
                        backendRefs: [{name: svc%1$d, port: 80}]
                      - matches: [{path: {type: Exact, value: /exact/%2$d}}]
                        backendRefs: [{name: svc%1$d, port: 80}]
                    ---
                    """, s, r));
            }
        }
        Path f = Files.createTempFile("l7bench", ".yaml");
        Files.writeString(f, yaml);
        AtomicReference<MeshSnapshot> snap = new AtomicReference<>();
        new MeshFileSource(f, snap::set, x -> {}).reload();
        Files.delete(f);
        MeshSnapshot s = snap.get();
        table = s.routes();
        hit = new View("GET", "/api/v7/items/42", java.util.Map.of("x-tier", "gold"));
        miss = new View("POST", "/other", java.util.Map.of());
        binding = s.bindingFor(new InetSocketAddress("10.96.0.1", 80));
        balancer = new RequestBalancer(new RoundRobinBalancer(), ThreadLocalRandom.current());
        keys = new long[1024];
        for (int k = 0; k < keys.length; k++) {
            keys[k] = Hashing.of("user-" + k);
        }
    }

    @Benchmark
    public RouteTable.Result routeMatch() {
        return table.match("ns", "svc0", 80, "ns", hit);
    }

    @Benchmark
    public RouteTable.Result routeNoMatch() {
        return table.match("ns", "svc0", 80, "ns", miss);
    }

    @Benchmark
    public Endpoint pickRoundRobin() {
        return balancer.pick(binding, LoadBalancing.Simple.ROUND_ROBIN, RequestBalancer.NO_KEY, null);
    }

    @Benchmark
    public Endpoint pickLeastRequest() {
        return balancer.pick(binding, LoadBalancing.Simple.LEAST_REQUEST, RequestBalancer.NO_KEY, null);
    }

    @Benchmark
    public Endpoint pickPeakEwma() {
        return balancer.pick(binding, LoadBalancing.Simple.PEAK_EWMA, RequestBalancer.NO_KEY, null);
    }

    @Benchmark
    public Endpoint pickRandom() {
        return balancer.pick(binding, LoadBalancing.Simple.RANDOM, RequestBalancer.NO_KEY, null);
    }

    @Benchmark
    public Endpoint pickRingHash() {
        return balancer.pick(binding, ring, keys[i++ & 1023], null);
    }

    @Benchmark
    public Endpoint pickMaglev() {
        return balancer.pick(binding, maglev, keys[i++ & 1023], null);
    }
}
