package dev.ferry.agent.net;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Kernel-side counters of a TCP socket through FFM, for the splice relay (whose bytes never pass through Java):
 * {@code TCP_INFO.tcpi_bytes_received} (Linux 4.1+) and the unread receive queue ({@code ioctl(SIOCINQ)}).
 */
public final class SocketQueues {
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_INFO = 11;
    private static final long SIOCINQ = 0x541B; // FIONREAD
    /** struct tcp_info: 8 one-byte fields, 24 u32s, pacing_rate, max_pacing_rate, bytes_acked, bytes_received. */
    private static final long BYTES_RECEIVED_OFFSET = 128;

    private static final int INFO_LEN = 136;
    // include/net/tcp_states.h: the states in which the peer's FIN has been received
    private static final int TCP_TIME_WAIT = 6;
    private static final int TCP_CLOSE = 7;
    private static final int TCP_CLOSE_WAIT = 8;
    private static final int TCP_LAST_ACK = 9;
    private static final int TCP_CLOSING = 11;

    private SocketQueues() {}

    /** Payload bytes this socket has received (its FIN not counted), or -1 when the kernel cannot say (closed fd, old kernel). */
    public static long bytesReceived(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(INFO_LEN);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, INFO_LEN);
            int rc = (int) Libc.GETSOCKOPT.invokeExact(fd, IPPROTO_TCP, TCP_INFO, info, len);
            if (rc != 0 || len.get(ValueLayout.JAVA_INT, 0) < BYTES_RECEIVED_OFFSET + 8) {
                return -1;
            }
            long received = info.get(ValueLayout.JAVA_LONG_UNALIGNED, BYTES_RECEIVED_OFFSET);
            // A received FIN takes one sequence number, which the kernel counts as a byte: not payload. CLOSE is
            // where a socket lands after CLOSE_WAIT/LAST_ACK; after a reset it is one byte off, on a connection that
            // is being aborted anyway.
            int state = Byte.toUnsignedInt(info.get(ValueLayout.JAVA_BYTE, 0));
            boolean finReceived = state == TCP_TIME_WAIT
                    || state == TCP_CLOSE
                    || state == TCP_CLOSE_WAIT
                    || state == TCP_LAST_ACK
                    || state == TCP_CLOSING;
            return finReceived ? received - 1 : received;
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Bytes received but not yet read (or spliced) by the application, or -1 on error. */
    public static int unread(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
            int rc = (int) Libc.IOCTL.invokeExact(fd, SIOCINQ, n);
            return rc == 0 ? n.get(ValueLayout.JAVA_INT, 0) : -1;
        } catch (Throwable t) {
            return -1;
        }
    }
}
