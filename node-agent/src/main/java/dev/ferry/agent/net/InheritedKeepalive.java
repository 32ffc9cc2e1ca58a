package dev.ferry.agent.net;

import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * TCP keepalive set once on a listening socket instead of on every connection it accepts: Linux copies SO_KEEPALIVE
 * and TCP_KEEPIDLE from the listener to each accepted socket (and arms the timer), which saves two setsockopt calls
 * per accepted connection — visible in the short-connection profile. Netty's server configs do not offer these
 * options, hence the direct call. Runs at bind, on the caller's thread, once per listener.
 */
final class InheritedKeepalive {
    private static final int SOL_SOCKET = 1;
    private static final int SO_KEEPALIVE = 9;
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_KEEPIDLE = 4;

    private InheritedKeepalive() {}

    static void set(Channel listener, int idleSeconds) {
        if (!(listener instanceof UnixChannel unix)) {
            throw new IllegalStateException("keepalive on a listener needs a native transport, not "
                    + listener.getClass().getName());
        }
        int fd = unix.fd().intValue();
        setInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
        setInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, idleSeconds, "TCP_KEEPIDLE");
    }

    private static void setInt(int fd, int level, int option, int value, String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(ValueLayout.JAVA_INT);
            v.set(ValueLayout.JAVA_INT, 0, value);
            MemorySegment capture = arena.allocate(Libc.CAPTURE_LAYOUT);
            int rc = (int) Libc.SETSOCKOPT.invokeExact(capture, fd, level, option, v, 4);
            if (rc != 0) {
                throw new IllegalStateException(
                        "setsockopt(" + name + ") on a listener failed: errno " + Libc.errno(capture));
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setsockopt(" + name + ") call failed", t);
        }
    }
}
