package dev.ferry.agent.net;

import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** {@code SO_MARK} on the agent's own sockets, so the pod's redirect rules let them through (mark 1337). */
public final class SocketMarks {
    /** The mark on every socket the agent creates in a pod (DESIGN.md: mark 1337 = 0x539). */
    public static final int FERRY_MARK = 1337;

    /**
     * The mark of inbound delivery sockets that carry the client's address (IP_TRANSPARENT). The pod's rules copy
     * it to the connection (ct mark) and back onto the app's replies, which policy routing then delivers locally to
     * the agent's socket instead of sending them out towards the client.
     */
    public static final int TRANSPARENT_MARK = 1338;

    private static final int SOL_SOCKET = 1;
    private static final int SO_MARK = 36;

    private SocketMarks() {}

    /** Sets the mark; needs CAP_NET_ADMIN. */
    public static void mark(Channel channel, int mark) {
        if (!(channel instanceof UnixChannel unix)) {
            throw new IllegalStateException("SO_MARK needs a native transport, not "
                    + channel.getClass().getName());
        }
        Libc.Scratch scratch = Libc.Scratch.get(); // buffers per thread, not an arena per call
        try {
            MemorySegment value = scratch.value();
            value.set(ValueLayout.JAVA_INT, 0, mark);
            MemorySegment capture = scratch.capture();
            int rc = (int) Libc.SETSOCKOPT.invokeExact(capture, unix.fd().intValue(), SOL_SOCKET, SO_MARK, value, 4);
            if (rc != 0) {
                throw new IllegalStateException("setsockopt(SO_MARK) failed: errno " + Libc.errno(capture)
                        + (Libc.errno(capture) == 1 ? " (EPERM: the agent needs CAP_NET_ADMIN)" : ""));
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setsockopt(SO_MARK) call failed", t);
        }
    }

    /** Reads the mark back (tests and CHECK). */
    public static int markOf(Channel channel) {
        UnixChannel unix = (UnixChannel) channel;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            int rc = (int) Libc.GETSOCKOPT.invokeExact(unix.fd().intValue(), SOL_SOCKET, SO_MARK, value, len);
            return rc == 0 ? value.get(ValueLayout.JAVA_INT, 0) : -1;
        } catch (Throwable t) {
            return -1;
        }
    }
}
