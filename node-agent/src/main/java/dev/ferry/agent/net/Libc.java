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

    private Libc() {}

    private static java.lang.foreign.MemorySegment find(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }
}
