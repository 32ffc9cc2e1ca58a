package dev.ferry.agent.net;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
    /**
     * Holders of {@link #fd}: the owner (until {@link #close}) and each {@link #enter} in progress. The fd is closed
     * only when the last lets go, so a pod deleted while one of its sockets is being created cannot have its fd
     * number closed and reused under the {@code setns} — which would switch the thread into whatever namespace (or
     * file) took the number. Atomic, not a lock: event loops enter.
     */
    private final AtomicInteger holders = new AtomicInteger(1);

    private final AtomicBoolean closed = new AtomicBoolean();

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
        int n;
        do {
            n = holders.get();
            if (n == 0) {
                throw new IllegalStateException("network namespace " + path + " is closed");
            }
        } while (!holders.compareAndSet(n, n + 1));
        try {
            setns(fd, "enter " + path);
            try {
                return action.get();
            } finally {
                returnHome();
            }
        } finally {
            release();
        }
    }

    /** Work that runs inside a namespace and may fail with an I/O error (a netlink or nftables call). */
    @FunctionalInterface
    public interface Task<T> {
        T run() throws IOException;
    }

    /** {@link #enter}, for work that throws {@link IOException}. */
    public <T> T call(Task<T> task) throws IOException {
        try {
            return enter(() -> {
                try {
                    return task.run();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Opens the namespace at {@code path}, runs {@code task} inside it and closes it; a null path runs it in the
     * agent's own namespace. Blocking, for capture's setup threads.
     */
    public static <T> T call(Path path, Task<T> task) throws IOException {
        if (path == null) {
            return task.run();
        }
        try (NetworkNamespace ns = open(path)) {
            return ns.call(task);
        }
    }

    /**
     * Back to the agent's namespace, or the end of the agent: a thread left in a pod's namespace (an event loop, say)
     * would create every later socket there — other pods' traffic in the wrong network. Nothing sane can follow, so
     * the process stops at once and the kubelet restarts it.
     */
    private void returnHome() {
        try {
            setns(HOME, "return from " + path);
        } catch (IllegalStateException e) {
            System.err.println(
                    "ferry-agent: FATAL: thread " + Thread.currentThread().getName()
                            + " cannot return to the agent's network namespace (" + e.getMessage() + "): stopping");
            Runtime.getRuntime().halt(70);
        }
    }

    private void release() {
        if (holders.decrementAndGet() == 0) {
            try {
                int rc = (int) Libc.CLOSE.invokeExact(fd);
                assert rc == 0 : "close(" + fd + ") failed";
            } catch (Throwable t) {
                // nothing to do: the fd is gone either way
            }
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

    /** Lets the owner's hold go; the fd closes now, or when the last {@link #enter} in progress ends. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            release();
        }
    }
}
