package dev.ferry.time;

import java.time.Clock;

/** Monotonic nanoseconds plus wall time, injected everywhere time matters so tests can move it. */
public interface Ticker {
    /** Monotonic time in nanoseconds, for durations and deadlines only. */
    long nanoTime();

    /** Wall clock, for timestamps in logs and certificates. */
    Clock wallClock();

    /** The real clocks. */
    static Ticker system() {
        return SystemTicker.INSTANCE;
    }
}
