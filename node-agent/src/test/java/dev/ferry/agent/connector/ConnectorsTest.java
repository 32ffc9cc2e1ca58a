package dev.ferry.agent.connector;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.Workload;
import io.netty.channel.Channel;
import io.netty.util.concurrent.Future;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/** The connector choice: HBONE only where the destination can answer it ({@code hboneOutbound: auto}). */
class ConnectorsTest {
    /** Stands in for the HBONE connector: only its identity is compared. */
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

    private static Workload pod(String name, boolean inMesh, boolean captured) {
        return new Workload(
                "u-" + name, name, "shop", "sa", List.of(), "node-1", Map.of(), Map.of(), inMesh, true, captured);
    }

    private final Workload client = pod("client", true, true);

    @Test
    void autoTunnelsToCapturedPodsOnlyAndCountsTheOthers() {
        Connectors auto = new Connectors(HBONE, true, new LongAdder());
        assertThat(auto.choose(client, pod("captured", true, true))).isSameAs(HBONE);
        assertThat(auto.choose(client, pod("enrolled-not-captured", true, false)))
                .isSameAs(auto.plain());
        assertThat(auto.uncaptured().sum()).isEqualTo(1);
        // not a mesh destination, or no mesh source: plaintext, and not counted as a capture gap
        assertThat(auto.choose(client, pod("outside", false, false))).isSameAs(auto.plain());
        assertThat(auto.choose(null, pod("captured", true, true))).isSameAs(auto.plain());
        assertThat(auto.choose(client, null)).isSameAs(auto.plain());
        // the labels ask too, without counting
        assertThat(auto.forOutbound(client, pod("enrolled-not-captured", true, false)))
                .isSameAs(auto.plain());
        assertThat(auto.uncaptured().sum()).isEqualTo(1);
    }

    @Test
    void alwaysTunnelsToEveryMeshPodAndOffNever() {
        Connectors always = new Connectors(HBONE, false, new LongAdder());
        assertThat(always.choose(client, pod("enrolled-not-captured", true, false)))
                .isSameAs(HBONE);
        assertThat(always.uncaptured().sum()).isZero();
        Connectors off = new Connectors(null);
        assertThat(off.choose(client, pod("captured", true, true))).isSameAs(off.plain());
    }
}
