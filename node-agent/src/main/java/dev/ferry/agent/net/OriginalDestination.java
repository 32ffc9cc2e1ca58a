package dev.ferry.agent.net;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;

/**
 * Recovers where a captured connection was going before the redirect. Production reads {@code SO_ORIGINAL_DST};
 * tests on loopback (where nothing was redirected) supply their own.
 */
@FunctionalInterface
public interface OriginalDestination {
    /**
     * @return the original destination
     * @throws OriginalDestinationException when the kernel has none (the connection was not redirected)
     */
    InetSocketAddress of(Channel accepted) throws OriginalDestinationException;

    final class OriginalDestinationException extends Exception {
        private static final long serialVersionUID = 1L;

        public OriginalDestinationException(String message) {
            super(message);
        }
    }
}
