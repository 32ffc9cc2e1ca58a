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

        private final boolean peerGone;

        public OriginalDestinationException(String message) {
            this(message, false);
        }

        /** @param peerGone the client reset the connection before it was handled (DC, not "not redirected") */
        public OriginalDestinationException(String message, boolean peerGone) {
            super(message);
            this.peerGone = peerGone;
        }

        public boolean peerGone() {
            return peerGone;
        }
    }
}
