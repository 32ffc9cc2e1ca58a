package dev.ferry.agent.routing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.ServicePort;
import dev.ferry.mesh.TargetPort;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.lb.LoadBalancing;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each balancing algorithm on its own, with a seeded random source and load fed by hand. */
class RequestBalancerTest {
    private final RequestBalancer balancer = new RequestBalancer(new RoundRobinBalancer(), new Random(42));

    private static ServiceBinding binding(int n) {
        return binding(0, n);
    }

    /** Endpoints 10.244.0.{from+1} .. {from+n}. */
    private static ServiceBinding binding(int from, int n) {
        Service s = new Service(
                "svc",
                "ns",
                List.of(InetAddress.ofLiteral("10.96.0.1")),
                List.of(new ServicePort("http", 80, "TCP", new TargetPort(8080, null), null)),
                Map.of("app", "x"));
        List<Endpoint> eps = new ArrayList<>();
        for (int i = from + 1; i <= from + n; i++) {
            InetAddress ip = InetAddress.ofLiteral("10.244.0." + i);
            Workload w = new Workload(
                    "u" + i, "pod-" + i, "ns", "sa", List.of(ip), "node-1", Map.of("app", "x"), Map.of(), true, true);
            eps.add(new Endpoint(w, new InetSocketAddress(ip, 8080)));
        }
        return new ServiceBinding(s, s.ports().getFirst(), eps);
    }

    private Map<Endpoint, Integer> spread(ServiceBinding b, LoadBalancing lb, int picks) {
        Map<Endpoint, Integer> counts = new HashMap<>();
        for (int i = 0; i < picks; i++) {
            counts.merge(balancer.pick(b, lb, RequestBalancer.NO_KEY, null), 1, Integer::sum);
        }
        return counts;
    }

    @Test
    void noEndpointsIsNullAndOneIsThatOne() {
        assertThat(balancer.pick(binding(0), LoadBalancing.DEFAULT, 0, null)).isNull();
        ServiceBinding one = binding(1);
        assertThat(balancer.pick(one, LoadBalancing.DEFAULT, 0, one.endpoints().getFirst()))
                .isEqualTo(one.endpoints().getFirst());
    }

    @Test
    void roundRobinCycles() {
        ServiceBinding b = binding(3);
        List<Endpoint> seen = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            seen.add(balancer.pick(b, LoadBalancing.Simple.ROUND_ROBIN, 0, null));
        }
        assertThat(seen.subList(0, 3)).containsExactlyInAnyOrderElementsOf(b.endpoints());
        assertThat(seen.subList(3, 6)).isEqualTo(seen.subList(0, 3));
    }

    @Test
    void randomIsUniform() {
        ServiceBinding b = binding(4);
        Map<Endpoint, Integer> c = spread(b, LoadBalancing.Simple.RANDOM, 8000);
        assertThat(c).hasSize(4);
        // 2,000 expected each, sd about 39: within 200 holds with p > 0.9999
        c.values().forEach(v -> assertThat(v).isBetween(1800, 2200));
    }

    @Test
    void leastRequestAvoidsTheBusyEndpoint() {
        ServiceBinding b = binding(3);
        Endpoint busy = b.endpoints().get(1);
        for (int i = 0; i < 10; i++) {
            balancer.load(busy).started();
        }
        Map<Endpoint, Integer> c = spread(b, LoadBalancing.Simple.LEAST_REQUEST, 3000);
        // two choices: the busy one wins only when drawn first against itself, which cannot happen
        assertThat(c.getOrDefault(busy, 0)).isZero();
        assertThat(c).hasSize(2);
        // and once everyone is equally loaded, all three share
        for (Endpoint e : b.endpoints()) {
            if (!e.equals(busy)) {
                for (int i = 0; i < 10; i++) {
                    balancer.load(e).started();
                }
            }
        }
        assertThat(spread(b, LoadBalancing.Simple.LEAST_REQUEST, 3000)).hasSize(3);
    }

    @Test
    void peakEwmaPrefersTheFasterEndpoint() {
        ServiceBinding b = binding(2);
        Endpoint slow = b.endpoints().get(0);
        Endpoint fast = b.endpoints().get(1);
        long now = 0;
        for (int i = 0; i < 5; i++) {
            now += 1_000_000;
            balancer.load(slow).started();
            balancer.load(slow).finished(50_000_000, now);
            balancer.load(fast).started();
            balancer.load(fast).finished(1_000_000, now);
        }
        Map<Endpoint, Integer> c = spread(b, LoadBalancing.Simple.PEAK_EWMA, 1000);
        assertThat(c.getOrDefault(fast, 0)).isEqualTo(1000);
        // a fast endpoint with a queue costs more than a slow idle one: 1 ms x 100 > 50 ms x 1
        for (int i = 0; i < 100; i++) {
            balancer.load(fast).started();
        }
        assertThat(spread(b, LoadBalancing.Simple.PEAK_EWMA, 1000).getOrDefault(slow, 0))
                .isEqualTo(1000);
    }

    @Test
    void peakEwmaTakesAPeakAtOnceAndDecaysSlowly() {
        EndpointLoad l = new EndpointLoad();
        l.started();
        l.finished(10_000_000, 0);
        l.started();
        l.finished(100_000_000, 1_000_000); // a slow answer: the average jumps to it
        assertThat(l.cost()).isEqualTo(100_000_000.0);
        l.started();
        l.finished(10_000_000, 1_000_000 + 10_000_000_000L); // one time constant later
        assertThat(l.cost()).isBetween(40_000_000.0, 50_000_000.0); // 100 ms x e^-1 + 10 ms x (1 - e^-1)
    }

    @Test
    void aRetryAvoidsThePreviousEndpoint() {
        ServiceBinding b = binding(3);
        Endpoint prev = b.endpoints().get(0);
        for (LoadBalancing lb : List.of(
                LoadBalancing.Simple.ROUND_ROBIN,
                LoadBalancing.Simple.RANDOM,
                LoadBalancing.Simple.LEAST_REQUEST,
                LoadBalancing.Simple.PEAK_EWMA,
                new LoadBalancing.ConsistentHash(
                        new LoadBalancing.HashKey.SourceIp(), LoadBalancing.Table.MAGLEV, 251))) {
            for (int i = 0; i < 200; i++) {
                assertThat(balancer.pick(b, lb, Hashing.of("k" + i), prev))
                        .as(lb.toString())
                        .isNotEqualTo(prev);
            }
        }
    }

    @Test
    void ringHashAndMaglevAreConsistent() {
        for (LoadBalancing.Table table : LoadBalancing.Table.values()) {
            LoadBalancing lb = new LoadBalancing.ConsistentHash(
                    new LoadBalancing.HashKey.Header("x-user"),
                    table,
                    table == LoadBalancing.Table.MAGLEV ? 65537 : 1024);
            ServiceBinding five = binding(5);
            Map<String, Endpoint> before = new HashMap<>();
            Map<Endpoint, Integer> load = new HashMap<>();
            for (int i = 0; i < 5000; i++) {
                Endpoint e = balancer.pick(five, lb, Hashing.of("user-" + i), null);
                before.put("user-" + i, e);
                load.merge(e, 1, Integer::sum);
                // the same key, the same endpoint
                assertThat(balancer.pick(five, lb, Hashing.of("user-" + i), null))
                        .isEqualTo(e);
            }
            // even enough: each of five gets 1,000 +- 40 % (ring hash at 1,024 points is the coarser)
            assertThat(load).hasSize(5);
            load.values().forEach(v -> assertThat(v).as(table.name()).isBetween(600, 1400));
            // one endpoint gone: its keys move, and few others do
            ServiceBinding four = binding(0, 4);
            int moved = 0;
            for (int i = 0; i < 5000; i++) {
                Endpoint was = before.get("user-" + i);
                Endpoint now = balancer.pick(four, lb, Hashing.of("user-" + i), null);
                if (!was.equals(now) && four.endpoints().contains(was)) {
                    moved++;
                }
            }
            assertThat(moved)
                    .as(table + ": keys of surviving endpoints that moved")
                    .isLessThan(5000 / 10);
        }
    }

    @Test
    void aRequestWithoutItsKeyIsSpreadAtRandom() {
        LoadBalancing lb = new LoadBalancing.ConsistentHash(
                new LoadBalancing.HashKey.Header("x-user"), LoadBalancing.Table.RING_HASH, 1024);
        assertThat(spread(binding(3), lb, 600)).hasSize(3);
    }
}
