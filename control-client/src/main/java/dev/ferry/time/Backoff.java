package dev.ferry.time;

import java.time.Duration;

/** Retry pauses that double up to a ceiling: one rule for every worker that retries a remote service. */
public final class Backoff {
    private Backoff() {}

    /** The pause after {@code current}: twice it, at most {@code max}. */
    public static Duration next(Duration current, Duration max) {
        Duration doubled = current.multipliedBy(2);
        return doubled.compareTo(max) > 0 ? max : doubled;
    }
}
