package dev.ferry.agent.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The three routing calls capture needs, over rtnetlink (FFM), in the network namespace of the calling thread: a
 * policy rule, a local route, and the namespace's addresses. In-process instead of spawning {@code ip}: a spawn cost
 * milliseconds on every pod's start, and the image carries no {@code ip}. A netlink socket belongs to the namespace
 * of the thread that creates it, so callers run these inside {@link NetworkNamespace#call}. Blocking (a kernel round
 * trip, bounded by a receive timeout): never on an event loop.
 */
public final class RouteNetlink {
    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW_CLOEXEC = 3 | 0x80000;
    private static final int NETLINK_ROUTE = 0;
    private static final int AF_UNSPEC = 0;
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;

    private static final short RTM_NEWADDR = 20;
    private static final short RTM_GETADDR = 22;
    private static final short RTM_NEWROUTE = 24;
    private static final short RTM_NEWRULE = 32;
    private static final short RTM_GETRULE = 34;
    private static final short NLMSG_ERROR = 2;
    private static final short NLMSG_DONE = 3;

    private static final short NLM_F_REQUEST = 0x1;
    private static final short NLM_F_ACK = 0x4;
    private static final short NLM_F_DUMP = 0x300;
    private static final short NLM_F_REPLACE = 0x100;
    private static final short NLM_F_EXCL = 0x200;
    private static final short NLM_F_CREATE = 0x400;

    private static final short FRA_FWMARK = 10;
    private static final short FRA_TABLE = 15;
    private static final short RTA_OIF = 4;
    private static final short RTA_TABLE = 15;
    private static final short IFA_ADDRESS = 1;
    private static final short IFA_LOCAL = 2;
    private static final int FR_ACT_TO_TBL = 1;
    private static final int RTPROT_BOOT = 3;
    private static final int RT_SCOPE_HOST = 254;
    private static final int RTN_LOCAL = 2;
    private static final int EEXIST = 17;
    /** The loopback device is the first registered in every network namespace, so its index is always 1. */
    private static final int LOOPBACK_IFINDEX = 1;

    private static final int HEADER = 16;
    private static final int RECEIVE_BUFFER = 64 * 1024;
    private static final int RECEIVE_TIMEOUT_SECONDS = 5;

    private RouteNetlink() {}

    /**
     * {@code ip rule add fwmark MARK lookup TABLE} unless such a rule is there (a re-ADD): without a priority the
     * kernel numbers each new rule afresh, so NLM_F_EXCL alone would not catch the duplicate.
     */
    public static void addFwmarkRule(int mark, int table) throws IOException {
        if (hasFwmarkRule(mark, table)) {
            return;
        }
        ByteBuffer m = message(RTM_NEWRULE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action; u32 flags
        m.put((byte) AF_INET).put((byte) 0).put((byte) 0).put((byte) 0);
        m.put((byte) table).put((byte) 0).put((byte) 0).put((byte) FR_ACT_TO_TBL);
        m.putInt(0);
        attribute(m, FRA_FWMARK, mark);
        attribute(m, FRA_TABLE, table);
        int errno = exchange(m, null);
        if (errno != 0 && errno != EEXIST) {
            throw new IOException("adding rule fwmark " + mark + " lookup " + table + " failed: errno " + errno);
        }
    }

    /** {@code ip route replace local 0.0.0.0/0 dev lo table TABLE}. */
    public static void replaceLocalDefaultRoute(int table) throws IOException {
        ByteBuffer m = message(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
        // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags
        m.put((byte) AF_INET).put((byte) 0).put((byte) 0).put((byte) 0);
        m.put((byte) table).put((byte) RTPROT_BOOT).put((byte) RT_SCOPE_HOST).put((byte) RTN_LOCAL);
        m.putInt(0);
        attribute(m, RTA_TABLE, table);
        attribute(m, RTA_OIF, LOOPBACK_IFINDEX);
        int errno = exchange(m, null);
        if (errno != 0) {
            throw new IOException("adding route local 0.0.0.0/0 dev lo table " + table + " failed: errno " + errno);
        }
    }

    /** Whether an IPv4 policy rule sends packets with fwmark {@code mark} to {@code table}. */
    public static boolean hasFwmarkRule(int mark, int table) throws IOException {
        ByteBuffer m = message(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP);
        m.put((byte) AF_INET).put(new byte[11]);
        boolean[] found = {false};
        int errno = exchange(m, (type, body) -> {
            if (type == RTM_NEWRULE && body.remaining() >= 12) {
                int headerTable = Byte.toUnsignedInt(body.get(body.position() + 4));
                Integer attrTable = u32Attribute(body, 12, FRA_TABLE);
                Integer fwmark = u32Attribute(body, 12, FRA_FWMARK);
                int t = attrTable != null ? attrTable : headerTable;
                found[0] |= t == table && fwmark != null && fwmark == mark;
            }
        });
        if (errno != 0) {
            throw new IOException("listing policy rules failed: errno " + errno);
        }
        return found[0];
    }

    /** Every address configured in the namespace, both families (what {@code ip addr show} lists as local). */
    public static Set<InetAddress> addresses() throws IOException {
        ByteBuffer m = message(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
        // struct ifaddrmsg: family, prefixlen, flags, scope; u32 index
        m.put((byte) AF_UNSPEC).put(new byte[7]);
        Set<InetAddress> out = new LinkedHashSet<>();
        List<IOException> bad = new ArrayList<>();
        int errno = exchange(m, (type, body) -> {
            if (type != RTM_NEWADDR || body.remaining() < 8) {
                return;
            }
            int family = Byte.toUnsignedInt(body.get(body.position()));
            byte[] local = bytesAttribute(body, 8, IFA_LOCAL);
            byte[] addr = local != null ? local : bytesAttribute(body, 8, IFA_ADDRESS);
            int want = family == AF_INET ? 4 : family == AF_INET6 ? 16 : -1;
            if (addr == null || addr.length != want) {
                bad.add(new IOException("address message of family " + family + " without a usable address"));
                return;
            }
            try {
                out.add(InetAddress.getByAddress(addr));
            } catch (UnknownHostException e) {
                bad.add(e);
            }
        });
        if (errno != 0) {
            throw new IOException("listing addresses failed: errno " + errno);
        }
        if (!bad.isEmpty()) {
            throw bad.getFirst();
        }
        return out;
    }

    private interface Reply {
        /** @param body the payload after the netlink header, positioned at its start, limited to its end */
        void on(short type, ByteBuffer body);
    }

    private static ByteBuffer message(short type, int flags) {
        ByteBuffer m = ByteBuffer.allocate(256).order(ByteOrder.nativeOrder());
        m.putInt(0).putShort(type).putShort((short) flags).putInt(1).putInt(0);
        return m;
    }

    private static void attribute(ByteBuffer m, short type, int value) {
        m.putShort((short) 8).putShort(type).putInt(value);
    }

    /**
     * Sends {@code request} on a fresh socket and reads until its ACK, error or end of dump.
     *
     * @return 0, or the errno the kernel answered
     */
    private static int exchange(ByteBuffer request, Reply dump) throws IOException {
        request.putInt(0, request.position());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(Libc.CAPTURE_LAYOUT);
            int fd = (int) Libc.SOCKET.invokeExact(capture, AF_NETLINK, SOCK_RAW_CLOEXEC, NETLINK_ROUTE);
            if (fd < 0) {
                throw new IOException("cannot open a netlink socket: errno " + Libc.errno(capture));
            }
            try {
                MemorySegment timeout = arena.allocate(16);
                timeout.set(ValueLayout.JAVA_LONG, 0, RECEIVE_TIMEOUT_SECONDS);
                int rc = (int)
                        Libc.SETSOCKOPT.invokeExact(capture, fd, 1 /* SOL_SOCKET */, 20 /* SO_RCVTIMEO */, timeout, 16);
                if (rc != 0) {
                    throw new IOException("cannot set the netlink receive timeout: errno " + Libc.errno(capture));
                }
                MemorySegment out = arena.allocate(request.position());
                MemorySegment.copy(MemorySegment.ofArray(request.array()), 0, out, 0, request.position());
                long sent = (long) Libc.SEND.invokeExact(capture, fd, out, (long) request.position(), 0);
                if (sent != request.position()) {
                    throw new IOException("netlink send failed: errno " + Libc.errno(capture));
                }
                MemorySegment in = arena.allocate(RECEIVE_BUFFER);
                while (true) {
                    long n = (long) Libc.RECV.invokeExact(capture, fd, in, (long) RECEIVE_BUFFER, 0);
                    if (n <= 0) {
                        throw new IOException("no netlink answer: errno " + Libc.errno(capture));
                    }
                    ByteBuffer b = in.asSlice(0, n).asByteBuffer().order(ByteOrder.nativeOrder());
                    Integer done = walk(b, dump);
                    if (done != null) {
                        return done;
                    }
                }
            } finally {
                int rc = (int) Libc.CLOSE.invokeExact(fd);
                assert rc == 0 : "close of a netlink socket failed";
            }
        } catch (IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("netlink call failed", t);
        }
    }

    /** @return the errno (0) once the exchange is over, or null when more datagrams follow */
    private static Integer walk(ByteBuffer b, Reply dump) throws IOException {
        while (b.remaining() >= HEADER) {
            int start = b.position();
            int len = b.getInt(start);
            short type = b.getShort(start + 4);
            if (len < HEADER || len > b.remaining()) {
                throw new IOException("malformed netlink message (length " + len + ")");
            }
            if (type == NLMSG_ERROR) {
                return -b.getInt(start + HEADER); // the kernel sends minus errno; 0 is the ACK
            }
            if (type == NLMSG_DONE) {
                return 0;
            }
            if (dump == null) {
                throw new IOException("unexpected netlink message type " + type);
            }
            ByteBuffer body = b.slice(start + HEADER, len - HEADER).order(ByteOrder.nativeOrder());
            dump.on(type, body);
            int next = start + align(len);
            if (next >= b.limit()) {
                break;
            }
            b.position(next);
        }
        return null;
    }

    private static Integer u32Attribute(ByteBuffer body, int fixed, short want) {
        byte[] v = bytesAttribute(body, fixed, want);
        return v == null || v.length != 4
                ? null
                : ByteBuffer.wrap(v).order(ByteOrder.nativeOrder()).getInt();
    }

    private static byte[] bytesAttribute(ByteBuffer body, int fixed, short want) {
        int p = align(fixed);
        while (p + 4 <= body.limit()) {
            int len = Short.toUnsignedInt(body.getShort(p));
            int type = body.getShort(p + 2) & 0x3fff; // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
            if (len < 4 || p + len > body.limit()) {
                return null;
            }
            if (type == want) {
                byte[] v = new byte[len - 4];
                body.get(p + 4, v);
                return v;
            }
            p += align(len);
        }
        return null;
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }
}
