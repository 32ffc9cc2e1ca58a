package dev.ferry.agent.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * A network namespace held open by file descriptor (e.g. {@code /run/netns/NAME}, {@code /proc/PID/ns/net}, or a
 * descriptor the CNI plugin passed). {@link #enter} runs code with the calling thread inside it and always returns
 * the thread to the agent's own namespace: a socket created inside keeps that namespace for its whole life, so
 * only socket creation needs the switch, never bind/connect/I/O.
 */
public final class NetworkNamespace implements AutoCloseable {
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int CLONE_NEWNET = 0x40000000;
    private static final long NS_GET_NSTYPE = 0xb703; // _IO(0xb7, 0x3), linux/nsfs.h
    /** The agent's own namespace, opened before any thread could have switched. */
    private static final int HOME = openFd(Path.of("/proc/self/ns/net"));

    private final Path path;
    private final int fd;
    private volatile boolean closed;

    private NetworkNamespace(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    public static NetworkNamespace open(Path path) throws IOException {
        int fd = openFd(path);
        if (fd < 0) {
            throw new IOException("cannot open network namespace " + path + ": errno " + (-fd));
        }
        return new NetworkNamespace(path, fd);
    }

    public Path path() {
        return path;
    }

    /** A path to this open namespace that stays valid while it is open, for tools such as {@code nsenter}. */
    public Path procPath() {
        return Path.of("/proc/" + ProcessHandle.current().pid() + "/fd/" + fd);
    }

    /**
     * Runs {@code action} with the calling (platform) thread inside this namespace, then switches back. Must not run
     * on a virtual thread: its carrier would stay switched.
     */
    public <T> T enter(Supplier<T> action) {
        if (Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("setns on a virtual thread would switch its carrier");
        }
        if (closed) {
            throw new IllegalStateException("network namespace " + path + " is closed");
        }
        setns(fd, "enter " + path);
        try {
            return action.get();
        } finally {
            // Failing to come back would leave an event loop in a pod's namespace: nothing sane can follow.
            setns(HOME, "return from " + path);
        }
    }

    private static void setns(int nsFd, String what) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(Libc.CAPTURE_LAYOUT);
            int rc = (int) Libc.SETNS.invokeExact(capture, nsFd, CLONE_NEWNET);
            if (rc != 0) {
                throw new IllegalStateException("setns failed to " + what + ": errno " + Libc.errno(capture));
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("setns call failed to " + what, t);
        }
    }

    /** @return the fd, or minus errno */
    private static int openFd(Path p) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment capture = arena.allocate(Libc.CAPTURE_LAYOUT);
            int fd = (int) Libc.OPEN.invokeExact(capture, arena.allocateFrom(p.toString()), O_RDONLY | O_CLOEXEC);
            return fd >= 0 ? fd : -Libc.errno(capture);
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Whether {@code fd} is a network-namespace file ({@code ioctl(NS_GET_NSTYPE)} says CLONE_NEWNET). */
    public static boolean isNetworkNamespace(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            int type = (int) Libc.IOCTL.invokeExact(fd, NS_GET_NSTYPE, MemorySegment.NULL);
            return type == CLONE_NEWNET;
        } catch (Throwable t) {
            return false;
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                int rc = (int) Libc.CLOSE.invokeExact(fd);
                assert rc == 0 : "close(" + fd + ") failed";
            } catch (Throwable t) {
                // nothing to do: the fd is gone either way
            }
        }
    }
}
