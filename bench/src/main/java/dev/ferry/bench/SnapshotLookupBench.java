package dev.ferry.bench;

import dev.ferry.agent.config.NodeConfig.UnknownDestination;
import dev.ferry.agent.routing.Destination;
import dev.ferry.agent.routing.DestinationResolver;
import dev.ferry.agent.routing.RoundRobinBalancer;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.ServicePort;
import dev.ferry.mesh.TargetPort;
import dev.ferry.mesh.Workload;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The per-connection control-plane cost on the data path: VIP:port lookup, pod-IP lookup, the whole destination
 * resolution (lookup + round-robin pick), in a mesh of {@code services} Services with 5 pods each.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class SnapshotLookupBench {
    @Param({"100", "10000"})
    public int services;

    private MeshSnapshot snapshot;
    private DestinationResolver resolver;
    private InetSocketAddress[] vips;
    private InetAddress[] podIps;
    private ServiceBinding binding;
    private RoundRobinBalancer balancer;
    private int i;

    @Setup
    public void setUp() throws UnknownHostException {
        List<Workload> pods = new ArrayList<>();
        List<Service> svcs = new ArrayList<>();
        vips = new InetSocketAddress[services];
        podIps = new InetAddress[services * 5];
        for (int s = 0; s < services; s++) {
            for (int p = 0; p < 5; p++) {
                int n = s * 5 + p;
                InetAddress ip = InetAddress.getByAddress(new byte[] {10, (byte) (n >> 16), (byte) (n >> 8), (byte) n});
                podIps[n] = ip;
                pods.add(new Workload(
                        "uid-" + n,
                        "app" + s + "-" + p,
                        "ns",
                        "sa",
                        List.of(ip),
                        "node-1",
                        Map.of("app", "app" + s),
                        Map.of("http", 8080),
                        true,
                        true));
            }
            InetAddress vip = InetAddress.getByAddress(new byte[] {(byte) 172, 30, (byte) (s >> 8), (byte) s});
            vips[s] = new InetSocketAddress(vip, 80);
            svcs.add(new Service(
                    "svc" + s,
                    "ns",
                    List.of(vip),
                    List.of(new ServicePort("http", 80, "TCP", TargetPort.ofName("http"), null)),
                    Map.of("app", "app" + s)));
        }
        snapshot = MeshSnapshot.builder(1)
                .namespaces(Map.of("ns", new Namespace("ns", Map.of())))
                .workloads(pods)
                .services(svcs)
                .build();
        balancer = new RoundRobinBalancer();
        resolver = new DestinationResolver(UnknownDestination.PASSTHROUGH, "node-1", Set.of());
        binding = snapshot.bindingFor(vips[0]);
    }

    @Benchmark
    public ServiceBinding vipLookup() {
        return snapshot.bindingFor(vips[(i++ & 0x7fffffff) % vips.length]);
    }

    @Benchmark
    public Object podIpLookup() {
        return snapshot.workloadByIp(podIps[(i++ & 0x7fffffff) % podIps.length]);
    }

    @Benchmark
    public Destination resolveServiceDestination() {
        return resolver.outbound(snapshot, vips[(i++ & 0x7fffffff) % vips.length]);
    }

    @Benchmark
    public Object endpointPick() {
        return balancer.pick(binding);
    }
}
