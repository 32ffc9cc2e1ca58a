package dev.ferry.agent.health;

import dev.ferry.health.Heartbeat;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A heartbeat for each event loop: a task scheduled on the loop itself every {@link #PERIOD}. A loop that blocks
 * (a resolver, a lock, a file read that should never have reached it) stops beating, and its thread dying stops it
 * too; the watchdog then turns readiness red and names the loop.
 */
public final class EventLoopProbe {
    static final Duration PERIOD = Duration.ofSeconds(1);
    /** Far above any legitimate task on a loop; a loop this late serves nobody. */
    public static final Duration MAX_SILENCE = Duration.ofSeconds(10);

    private EventLoopProbe() {}

    public static void watch(EventLoopGroup group, String name, Watchdog watchdog) {
        int i = 0;
        for (EventExecutor loop : group) {
            Heartbeat h = watchdog.watch(name + "-" + i++, MAX_SILENCE);
            loop.scheduleAtFixedRate(h::beat, 0, PERIOD.toMillis(), TimeUnit.MILLISECONDS);
        }
    }
}
