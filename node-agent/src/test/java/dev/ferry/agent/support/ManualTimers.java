package dev.ferry.agent.support;

import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.time.ManualTicker;
import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;

/**
 * Relay timers on a manual clock: nothing fires until the test moves the clock with {@link #advance}, then every task
 * due by then runs on its own event loop. So a one-hour idle timeout is tested in milliseconds, on the same clock
 * the connection measures its quiet time with.
 */
public final class ManualTimers implements RelayTimers {
    private record Task(long due, EventExecutor loop, Runnable run, CompletableFuture<Void> handle) {}

    private final ManualTicker ticker;
    private final List<Task> tasks = new ArrayList<>();

    public ManualTimers(ManualTicker ticker) {
        this.ticker = ticker;
    }

    @Override
    public synchronized Future<?> schedule(EventExecutor loop, Runnable task, long delayNanos) {
        CompletableFuture<Void> handle = new CompletableFuture<>();
        tasks.add(new Task(ticker.nanoTime() + delayNanos, loop, task, handle));
        return handle;
    }

    /** Moves the clock and runs what fell due (tasks scheduled by those run on the next advance). */
    public void advance(Duration d) {
        ticker.advance(d);
        List<Task> due = new ArrayList<>();
        synchronized (this) {
            long now = ticker.nanoTime();
            tasks.removeIf(t -> {
                if (t.handle().isCancelled()) {
                    return true;
                }
                if (t.due() <= now) {
                    due.add(t);
                    return true;
                }
                return false;
            });
        }
        for (Task t : due) {
            t.loop().execute(() -> {
                if (t.handle().complete(null)) {
                    t.run().run();
                }
            });
        }
    }

    public ManualTicker ticker() {
        return ticker;
    }

    public synchronized int pending() {
        tasks.removeIf(t -> t.handle().isCancelled());
        return tasks.size();
    }
}
