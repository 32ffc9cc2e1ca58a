package dev.ferry.agent.health;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.health.Heartbeat;
import dev.ferry.time.ManualTicker;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WatchdogTest {
    private final ManualTicker clock = new ManualTicker(Instant.parse("2026-12-01T00:00:00Z"));
    private final Watchdog dog = new Watchdog(clock);

    @Test
    void aSilentWorkerIsReportedStuckUntilItBeatsAgain() {
        Heartbeat h = dog.watch("mesh-file-watch", Duration.ofSeconds(62));
        h.beat();
        assertThat(dog.problems()).isEmpty();
        clock.advance(Duration.ofSeconds(63));
        assertThat(dog.problems()).contains("mesh-file-watch stuck for 63 s");
        h.beat();
        assertThat(dog.problems()).isEmpty();
    }

    @Test
    void aWorkerWhoseThreadDiedIsReportedDeadWithItsLastFailure() throws Exception {
        Heartbeat h = dog.watch("certificates", Duration.ofSeconds(60));
        Thread t = Thread.ofPlatform().start(() -> {
            h.beat();
            h.failed(new IllegalStateException("boom"));
        });
        t.join(5000);
        assertThat(dog.problems()).contains("certificates died").contains("boom");
        assertThat(Watchdog.healthy(dog.watched().getFirst())).isFalse();
    }

    /** A scheduled task that throws is cancelled silently by the executor; guarded, it survives and is counted. */
    @Test
    void aGuardedPeriodicTaskSurvivesWhatItThrows() throws Exception {
        Heartbeat h = dog.watch("host-rules", Duration.ofSeconds(60));
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger reported = new AtomicInteger();
        ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor();
        try {
            ex.scheduleWithFixedDelay(
                    Watchdog.guarded(
                            h,
                            () -> {
                                runs.incrementAndGet();
                                throw new IllegalStateException("nft failed");
                            },
                            e -> reported.incrementAndGet()),
                    0,
                    10,
                    TimeUnit.MILLISECONDS);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (runs.get() < 5 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
        } finally {
            ex.shutdownNow();
        }
        assertThat(runs.get()).isGreaterThanOrEqualTo(5);
        assertThat(h.failures()).isGreaterThanOrEqualTo(5);
        assertThat(reported.get()).isGreaterThanOrEqualTo(5);
        assertThat(h.lastFailure()).contains("nft failed");
    }
}
