package dev.ferry.time;

import java.time.Clock;

/** The only production source of time. */
@SuppressForbidden(reason = "this is the injected clock's real implementation")
final class SystemTicker implements Ticker {
    static final SystemTicker INSTANCE = new SystemTicker();

    private SystemTicker() {}

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public Clock wallClock() {
        return Clock.systemUTC();
    }
}
