package dev.ferry.health;

import dev.ferry.time.Ticker;

/**
 * The liveness of one background worker: it beats each time round its loop (or each run of its task), and records
 * a failure it survived. A watchdog reads {@link #silentNanos()} and {@link #alive()}: a worker that died (its thread
 * ended) or hangs (no beat for longer than its period allows) must turn readiness red instead of failing silently.
 * One writer (the worker), any number of readers.
 */
public final class Heartbeat {
    private final String name;
    private final Ticker ticker;
    private volatile long lastBeat;
    private volatile Thread thread;
    private volatile String lastFailure = "";
    private volatile long failures;

    public Heartbeat(String name, Ticker ticker) {
        this.name = name;
        this.ticker = ticker;
        this.lastBeat = ticker.nanoTime();
    }

    public String name() {
        return name;
    }

    /** Called from the worker's own thread each time round; remembers the thread so its death can be seen. */
    public void beat() {
        thread = Thread.currentThread();
        lastBeat = ticker.nanoTime();
    }

    /** The worker caught a failure and goes on: counted, and named in the watchdog's report. */
    public void failed(Throwable cause) {
        failures++;
        lastFailure = cause.toString();
    }

    public long silentNanos() {
        return ticker.nanoTime() - lastBeat;
    }

    /** False once the thread that last beat has ended (a worker that has not beaten yet counts as alive). */
    public boolean alive() {
        Thread t = thread;
        return t == null || t.isAlive();
    }

    public long failures() {
        return failures;
    }

    public String lastFailure() {
        return lastFailure;
    }
}
