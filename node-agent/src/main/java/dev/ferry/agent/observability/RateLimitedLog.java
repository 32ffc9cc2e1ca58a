package dev.ferry.agent.observability;

import dev.ferry.time.Ticker;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * One log line per {@link #every} for something unauthenticated peers can cause at will (failed handshakes, refused
 * connections): each would otherwise write a line — or a stack trace — per connection, and a peer could fill the
 * node's disk or drown the real errors. The lines skipped in between are counted in the next one. Lock-free: any
 * event loop may call it.
 */
public final class RateLimitedLog {
    private final Logger log;
    private final Ticker ticker;
    private final long every;
    private final AtomicLong next;
    private final AtomicLong skipped = new AtomicLong();

    public RateLimitedLog(Logger log, Ticker ticker, java.time.Duration every) {
        this.log = log;
        this.ticker = ticker;
        this.every = every.toNanos();
        this.next = new AtomicLong(ticker.nanoTime());
    }

    /** Logs at WARN, one line, unless one was logged less than {@code every} ago. */
    public void warn(String format, Object... args) {
        long now = ticker.nanoTime();
        long due = next.get();
        if (now - due < 0 || !next.compareAndSet(due, now + every)) {
            skipped.incrementAndGet();
            return;
        }
        long n = skipped.getAndSet(0);
        if (n > 0) {
            log.warn(format + " (and {} more like it since the last such line)", append(args, n));
        } else {
            log.warn(format, args);
        }
    }

    private static Object[] append(Object[] args, long n) {
        Object[] out = java.util.Arrays.copyOf(args, args.length + 1);
        out[args.length] = n;
        return out;
    }

    /** The innermost cause's message: "General OpenSslEngine problem" says nothing, its cause names the check. */
    public static String rootMessage(Throwable t) {
        Throwable root = t;
        StringBuilder chain = new StringBuilder(String.valueOf(t.getMessage()));
        int depth = 0;
        while (root.getCause() != null && root.getCause() != root && depth++ < 8) {
            root = root.getCause();
            if (root.getMessage() != null && !chain.toString().contains(root.getMessage())) {
                chain.append(": ").append(root.getMessage());
            }
        }
        String s = chain.toString().replace('\n', ' ');
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }
}
