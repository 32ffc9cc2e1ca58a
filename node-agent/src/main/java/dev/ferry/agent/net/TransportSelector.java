package dev.ferry.agent.net;

import dev.ferry.agent.config.NodeConfig.TransportKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Picks the transport at start: the configured one (failing clearly if unavailable), or the best available. */
public final class TransportSelector {
    private static final Logger log = LoggerFactory.getLogger(TransportSelector.class);

    private TransportSelector() {}

    public static Transport select(TransportKind wanted) {
        return switch (wanted) {
            case IO_URING -> require(Transport.IO_URING);
            case EPOLL -> require(Transport.EPOLL);
            case NIO -> Transport.NIO;
            case AUTO -> {
                for (Transport t : new Transport[] {Transport.IO_URING, Transport.EPOLL}) {
                    if (t.available()) {
                        yield t;
                    }
                    log.info("transport {} unavailable: {}", t.label(), t.unavailableReason());
                }
                yield Transport.NIO;
            }
        };
    }

    private static Transport require(Transport t) {
        if (!t.available()) {
            throw new IllegalStateException("transport " + t.label() + " was configured but is unavailable: "
                    + t.unavailableReason() + " (io_uring is often blocked by a seccomp profile; use epoll)");
        }
        return t;
    }
}
