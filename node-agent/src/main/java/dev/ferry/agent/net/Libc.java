package dev.ferry.agent.net;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** The libc calls Ferry makes through FFM, looked up once. This package is the only FFM seam. */
final class Libc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor GETSOCKOPT_DESC = FunctionDescriptor.of(
            ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS,
            ValueLayout.ADDRESS);

    /** {@code int getsockopt(int fd, int level, int name, void *value, socklen_t *len)}. */
    static final MethodHandle GETSOCKOPT = LINKER.downcallHandle(find("getsockopt"), GETSOCKOPT_DESC);

    /** The same, with errno captured: the first argument is a segment of {@link Linker.Option#captureStateLayout}. */
    static final MethodHandle GETSOCKOPT_ERRNO =
            LINKER.downcallHandle(find("getsockopt"), GETSOCKOPT_DESC, Linker.Option.captureCallState("errno"));

    /** {@code int ioctl(int fd, unsigned long request, int *arg)} (variadic after the request). */
    static final MethodHandle IOCTL = LINKER.downcallHandle(
            find("ioctl"),
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            Linker.Option.firstVariadicArg(2));

    /** {@code int setns(int fd, int nstype)}, errno captured (first argument: the capture segment). */
    static final MethodHandle SETNS = LINKER.downcallHandle(
            find("setns"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));

    /** {@code int open(const char *path, int flags)} (variadic after flags), errno captured. */
    static final MethodHandle OPEN = LINKER.downcallHandle(
            find("open"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            Linker.Option.firstVariadicArg(2),
            Linker.Option.captureCallState("errno"));

    /** {@code int close(int fd)}. */
    static final MethodHandle CLOSE =
            LINKER.downcallHandle(find("close"), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    /** {@code int setsockopt(int fd, int level, int name, const void *value, socklen_t len)}, errno captured. */
    static final MethodHandle SETSOCKOPT = LINKER.downcallHandle(
            find("setsockopt"),
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS,
                    ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));

    /** {@code int socket(int domain, int type, int protocol)}, errno captured. */
    static final MethodHandle SOCKET = LINKER.downcallHandle(
            find("socket"),
            FunctionDescriptor.of(
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));

    /** {@code ssize_t f(int fd, void *buf, size_t len, int flags)}: send and recv. */
    private static final FunctionDescriptor IO_DESC = FunctionDescriptor.of(
            ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT);

    /** {@code ssize_t send(int fd, const void *buf, size_t len, int flags)}, errno captured. */
    static final MethodHandle SEND =
            LINKER.downcallHandle(find("send"), IO_DESC, Linker.Option.captureCallState("errno"));

    /** {@code ssize_t recv(int fd, void *buf, size_t len, int flags)}, errno captured. */
    static final MethodHandle RECV =
            LINKER.downcallHandle(find("recv"), IO_DESC, Linker.Option.captureCallState("errno"));

    static final java.lang.foreign.MemoryLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final java.lang.invoke.VarHandle ERRNO =
            CAPTURE_LAYOUT.varHandle(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));

    /** The errno a captured call left in {@code capture}. */
    static int errno(java.lang.foreign.MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    /**
     * Buffers for the calls made per connection on an event loop (SO_ORIGINAL_DST, SO_MARK), one set per thread: an
     * arena per call was two or three mallocs and frees per connection. The calls never nest, so they share the set.
     * Freed by the GC with its thread.
     *
     * @param addr room for a sockaddr_in6 (28 bytes)
     * @param value an int: an option's value, or a socklen_t
     * @param capture errno, for calls linked with captureCallState
     */
    record Scratch(
            java.lang.foreign.MemorySegment addr,
            java.lang.foreign.MemorySegment value,
            java.lang.foreign.MemorySegment capture) {
        private static final ThreadLocal<Scratch> PER_THREAD = ThreadLocal.withInitial(() -> {
            java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofAuto(); // kept alive by its segments
            return new Scratch(
                    arena.allocate(28), arena.allocate(ValueLayout.JAVA_INT), arena.allocate(CAPTURE_LAYOUT));
        });

        /** This thread's set. */
        static Scratch get() {
            return PER_THREAD.get();
        }
    }

    private Libc() {}

    private static java.lang.foreign.MemorySegment find(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }
}
