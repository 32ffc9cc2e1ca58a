package dev.ferry.agent.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.PromText;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The memory gauges read the allocator the channels use, and the JVM's own metrics are there without NMT's. */
class MemoryMetricsTest {
    private static String scrape(Metrics m) throws Exception {
        return PromText.scrape(m.registry());
    }

    @Test
    void directMemoryGaugeFollowsTheChannelsAllocator() throws Exception {
        Metrics m = new Metrics();
        double before = PromText.sum(scrape(m), "ferry_netty_direct_memory_bytes", Map.of());
        ByteBuf held = ByteBufAllocator.DEFAULT.directBuffer(4 << 20);
        try {
            held.writeZero(4 << 20);
            assertThat(PromText.sum(scrape(m), "ferry_netty_direct_memory_bytes", Map.of()) - before)
                    .isGreaterThanOrEqualTo(4 << 20);
        } finally {
            held.release();
        }
    }

    @Test
    void jvmMetricsWithoutTheNativeMemoryPart() throws Exception {
        String text = scrape(new Metrics());
        assertThat(PromText.sum(text, "jvm_memory_used_bytes", Map.of("area", "heap")))
                .isPositive();
        assertThat(PromText.sum(text, "jvm_threads_current", Map.of())).isPositive();
        assertThat(PromText.sum(text, "process_resident_memory_bytes", Map.of()))
                .isPositive();
        assertThat(text).doesNotContain("jvm_native_memory");
    }
}
