package dev.ferry.agent.health;

import dev.ferry.health.Heartbeat;
import dev.ferry.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Watches every background worker of the agent — the mesh watcher, certificate renewal, the host-rules refresh,
 * the CNI config watcher, each event loop — through its {@link Heartbeat}. A worker whose thread died, or that has
 * not beaten for longer than it may, makes {@link #problems()} non-empty, which turns readiness red and shows in
 * the metrics: no worker can stop silently while the agent looks healthy.
 */
public final class Watchdog {
    /** One watched worker: its heartbeat and how long it may stay silent (its period plus its slowest legitimate step). */
    public record Watched(Heartbeat heartbeat, Duration maxSilence) {}

    private final Ticker ticker;
    private final List<Watched> watched = new CopyOnWriteArrayList<>();

    public Watchdog(Ticker ticker) {
        this.ticker = ticker;
    }

    /** A heartbeat for a new worker, watched from now on. */
    public Heartbeat watch(String name, Duration maxSilence) {
        Heartbeat h = new Heartbeat(name, ticker);
        watch(h, maxSilence);
        return h;
    }

    public void watch(Heartbeat heartbeat, Duration maxSilence) {
        watched.add(new Watched(heartbeat, maxSilence));
    }

    public List<Watched> watched() {
        return List.copyOf(watched);
    }

    /** Whether this worker is alive and has beaten recently enough. */
    public static boolean healthy(Watched w) {
        return w.heartbeat().alive()
                && w.heartbeat().silentNanos() <= w.maxSilence().toNanos();
    }

    /** Empty when every worker is alive and beating; else each unhealthy one, named with what is known. */
    public String problems() {
        List<String> bad = new ArrayList<>();
        for (Watched w : watched) {
            Heartbeat h = w.heartbeat();
            if (!h.alive()) {
                bad.add(h.name() + " died" + failure(h));
            } else if (h.silentNanos() > w.maxSilence().toNanos()) {
                bad.add(h.name() + " stuck for "
                        + Duration.ofNanos(h.silentNanos()).toSeconds() + " s" + failure(h));
            }
        }
        return bad.isEmpty() ? "" : "background worker(s) not running: " + String.join("; ", bad);
    }

    private static String failure(Heartbeat h) {
        return h.lastFailure().isEmpty() ? "" : " (last failure: " + h.lastFailure() + ")";
    }

    /**
     * Runs {@code task} as one step of a periodic worker: beats, and survives anything the task throws (logged by
     * the caller's {@code onFailure}, counted on the heartbeat). A scheduled executor would otherwise cancel every
     * later run after the first exception, silently.
     */
    public static Runnable guarded(Heartbeat h, Runnable task, java.util.function.Consumer<Throwable> onFailure) {
        return () -> {
            h.beat();
            try {
                task.run();
            } catch (RuntimeException e) {
                h.failed(e);
                onFailure.accept(e);
            }
            h.beat();
        };
    }
}
