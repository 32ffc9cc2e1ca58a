package dev.ferry.agent.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConnectionCountsTest {
    @Test
    void capsPerKeyAndForgetsKeysAtZero() {
        ConnectionCounts<String> c = new ConnectionCounts<>();
        assertThat(c.tryAcquire("a", 2)).isTrue();
        assertThat(c.tryAcquire("a", 2)).isTrue();
        assertThat(c.tryAcquire("a", 2)).isFalse();
        assertThat(c.tryAcquire("b", 2)).isTrue();
        c.release("a");
        assertThat(c.get("a")).isEqualTo(1);
        c.release("a");
        c.release("b");
        assertThat(c.keys()).isZero();
    }

    /** Many threads acquiring and releasing one key at its cap: never above it, nothing left over. */
    @Test
    void neverExceedsTheCapUnderContention() throws Exception {
        ConnectionCounts<String> c = new ConnectionCounts<>();
        AtomicInteger held = new AtomicInteger();
        AtomicInteger maxSeen = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(4);
        for (int t = 0; t < 4; t++) {
            Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 100_000; i++) {
                    if (c.tryAcquire("k", 3)) {
                        int h = held.incrementAndGet();
                        maxSeen.accumulateAndGet(h, Math::max);
                        held.decrementAndGet();
                        c.release("k");
                    }
                }
                done.countDown();
            });
        }
        assertThat(done.await(60, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(maxSeen.get()).isLessThanOrEqualTo(3);
        assertThat(c.keys()).isZero();
    }
}
