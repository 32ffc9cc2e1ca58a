package dev.ferry.agent.net;

import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * {@code getsockopt(fd, SOL_IP, SO_ORIGINAL_DST)} (and {@code SOL_IPV6, IP6T_SO_ORIGINAL_DST}) through the FFM API:
 * the netfilter conntrack entry of a REDIRECTed connection remembers the address the client dialled.
 */
public final class SoOriginalDst implements OriginalDestination {
    private static final int SOL_IP = 0;
    private static final int SOL_IPV6 = 41;
    private static final int SO_ORIGINAL_DST = 80; // linux/netfilter_ipv4.h; IP6T_SO_ORIGINAL_DST has the same value
    private static final int SOCKADDR_IN_LEN = 16;
    private static final int SOCKADDR_IN6_LEN = 28;

    private static final ValueLayout.OfShort NETWORK_SHORT =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    @Override
    public InetSocketAddress of(Channel accepted) throws OriginalDestinationException {
        if (!(accepted instanceof UnixChannel unix)) {
            throw new OriginalDestinationException(
                    "transport " + accepted.getClass().getSimpleName()
                            + " exposes no file descriptor; SO_ORIGINAL_DST needs epoll or io_uring");
        }
        boolean v6 = accepted.localAddress() instanceof InetSocketAddress local
                && local.getAddress() instanceof Inet6Address
                && !isV4Mapped((Inet6Address) local.getAddress());
        return query(unix.fd().intValue(), v6);
    }

    static InetSocketAddress query(int fd, boolean v6) throws OriginalDestinationException {
        Libc.Scratch scratch = Libc.Scratch.get(); // buffers per thread, not an arena per call
        try {
            int len = v6 ? SOCKADDR_IN6_LEN : SOCKADDR_IN_LEN;
            MemorySegment addr = scratch.addr();
            MemorySegment lenPtr = scratch.value();
            lenPtr.set(ValueLayout.JAVA_INT, 0, len);
            MemorySegment capture = scratch.capture();
            int rc = (int) Libc.GETSOCKOPT_ERRNO.invokeExact(
                    capture, fd, v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, addr, lenPtr);
            if (rc != 0) {
                int errno = Libc.errno(capture);
                // A client that reset at once takes its conntrack entry with it: ENOENT as for a connection that
                // was never redirected. The socket's pending error tells the two apart.
                int pending = pendingError(fd);
                if (pending != 0) {
                    throw new OriginalDestinationException(
                            "the client reset the connection before it was handled (errno " + pending + ")", true);
                }
                throw new OriginalDestinationException("SO_ORIGINAL_DST failed, errno " + errno
                        + (errno == 2 ? " (ENOENT: the connection was not redirected by netfilter)" : ""));
            }
            // sockaddr_in{6}: port at offset 2 in network byte order; address at 4 (v4) or 8 (v6).
            int port = Short.toUnsignedInt(addr.get(NETWORK_SHORT, 2));
            byte[] ip = v6
                    ? addr.asSlice(8, 16).toArray(ValueLayout.JAVA_BYTE)
                    : addr.asSlice(4, 4).toArray(ValueLayout.JAVA_BYTE);
            return new InetSocketAddress(InetAddress.getByAddress(ip), port);
        } catch (OriginalDestinationException e) {
            throw e;
        } catch (UnknownHostException e) {
            throw new OriginalDestinationException("bad address from SO_ORIGINAL_DST: " + e.getMessage());
        } catch (Throwable t) {
            throw new OriginalDestinationException("SO_ORIGINAL_DST call failed: " + t);
        }
    }

    /** {@code SO_ERROR}: the error the kernel holds for the socket (ECONNRESET after the client's RST), or 0. */
    private static int pendingError(int fd) throws Throwable {
        try (Arena arena = Arena.ofConfined()) { // the error path only: freed at once
            MemorySegment value = arena.allocate(ValueLayout.JAVA_INT);
            MemorySegment len = arena.allocate(ValueLayout.JAVA_INT);
            len.set(ValueLayout.JAVA_INT, 0, 4);
            int rc = (int) Libc.GETSOCKOPT.invokeExact(fd, 1 /* SOL_SOCKET */, 4 /* SO_ERROR */, value, len);
            return rc == 0 ? value.get(ValueLayout.JAVA_INT, 0) : 0;
        }
    }

    private static boolean isV4Mapped(Inet6Address a) {
        byte[] b = a.getAddress();
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }
}
