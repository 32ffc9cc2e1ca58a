package dev.ferry.time;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A clock tests move by hand. Thread-safe: the data path may read it from event loops while a test advances it. */
public final class ManualTicker implements Ticker {
    private final AtomicLong nanos = new AtomicLong();
    private final Instant epoch;

    public ManualTicker(Instant epoch) {
        this.epoch = epoch;
    }

    public void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    @Override
    public long nanoTime() {
        return nanos.get();
    }

    @Override
    public Clock wallClock() {
        return Clock.fixed(epoch.plusNanos(nanos.get()), ZoneOffset.UTC);
    }
}
