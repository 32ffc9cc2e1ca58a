package dev.ferry.agent.proxy;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Open connections per key (a source workload, a source IP, a destination workload), counted from every event loop
 * without a lock: the keys come from peers (any IP can connect), and nothing a peer chooses may make one event loop
 * wait for another. A key's counter is removed when it drops to zero (so the map does not grow with every address
 * ever seen); an increment that raced with that removal notices it and retries on the new counter.
 */
final class ConnectionCounts<K> {
    private final ConcurrentHashMap<K, AtomicInteger> counts = new ConcurrentHashMap<>();

    /** Adds one for {@code key} unless it already has {@code max}; returns whether it did. */
    boolean tryAcquire(K key, int max) {
        while (true) {
            AtomicInteger c = counts.get(key);
            if (c == null) {
                AtomicInteger fresh = new AtomicInteger(1);
                if (max < 1) {
                    return false;
                }
                if (counts.putIfAbsent(key, fresh) == null) {
                    return true;
                }
                continue;
            }
            int n = c.get();
            if (n <= 0) {
                counts.remove(key, c); // a counter on its way out: help remove it, then start over
                continue;
            }
            if (n >= max) {
                return false;
            }
            if (c.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    void release(K key) {
        AtomicInteger c = counts.get(key);
        if (c != null && c.decrementAndGet() == 0) {
            // Zero: retire this counter. An acquirer that read it meanwhile sees 0 and retries.
            counts.remove(key, c);
        }
    }

    int get(K key) {
        AtomicInteger c = counts.get(key);
        return c == null ? 0 : Math.max(0, c.get());
    }

    int keys() {
        return counts.size();
    }
}
