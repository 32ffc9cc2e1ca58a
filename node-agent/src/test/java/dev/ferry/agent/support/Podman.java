package dev.ferry.agent.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Podman (Debian's, with crun) on a private image store under a test directory, shaped by what this sandbox allows:
 *
 * <ul>
 *   <li>cgroups are hybrid (v1 controllers plus a v2 mount at {@code /sys/fs/cgroup/unified}), which crun refuses: each
 *       container runs in a private mount namespace without the unified mount, with cgroups disabled. The namespace
 *       keeps the host's propagation ({@code --propagation unchanged}) so {@code /run/netns}, a shared mount, still
 *       receives the namespaces of pods created after the container started;
 *   <li>there is no CAP_SYS_RESOURCE, so rlimits are passed at (or below) the current ones instead of podman's
 *       defaults, which would raise them.
 * </ul>
 *
 * A container is one {@code podman run --rm} process in the foreground: its life is the process's, SIGTERM to it is
 * forwarded to the container's PID 1, and {@code --rm} removes it in the same mount namespace it was created in.
 */
public final class Podman implements AutoCloseable {
    private final Path root;
    private final Path runRoot;
    private final List<Process> running = new ArrayList<>();

    public Podman(Path dir) throws IOException {
        this.root = Files.createDirectories(dir.resolve("storage"));
        this.runRoot = Files.createDirectories(dir.resolve("run"));
    }

    private List<String> podman(String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                "podman", "--root", root.toString(), "--runroot", runRoot.toString(), "--storage-driver", "vfs"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Loads an OCI image archive. @return what podman printed (the loaded image's name) */
    public String load(Path archive) throws IOException, InterruptedException {
        return exec(podman("load", "-i", archive.toString()), 120);
    }

    /**
     * Starts {@code podman run --rm} with {@code args} (options, image, command) in the foreground, output to
     * {@code log}.
     */
    public Process run(Path log, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                "unshare",
                "-m",
                "--propagation",
                "unchanged",
                "--",
                "sh",
                "-c",
                "umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$@\"",
                "podman-in-private-mounts"));
        cmd.addAll(podman("run", "--rm", "--cgroups=disabled"));
        cmd.addAll(rlimits());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        synchronized (running) {
            running.add(p);
        }
        return p;
    }

    /** Runs a container to its end. @return its output */
    public String runToEnd(Path log, List<String> args, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = run(log, args);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("container did not finish in " + timeoutSeconds + " s:\n" + Files.readString(log));
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new AssertionError("container exited " + p.exitValue() + ":\n" + out);
        }
        return out;
    }

    /** The current limits, which podman may set without CAP_SYS_RESOURCE (its defaults would raise them). */
    private static List<String> rlimits() throws IOException {
        long files = 1024;
        for (String line : Files.readAllLines(Path.of("/proc/self/limits"))) {
            if (line.startsWith("Max open files")) {
                files = Long.parseLong(line.substring(26).trim().split("\\s+")[0]);
            }
        }
        // root is exempt from RLIMIT_NPROC; podman only must not try to raise it
        return List.of("--ulimit", "nofile=" + files + ":" + files, "--ulimit", "nproc=4096:4096");
    }

    private static String exec(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish in " + timeoutSeconds + " s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " failed (" + p.exitValue() + "): " + out);
        }
        return out;
    }

    /** Stops what still runs (SIGTERM, then SIGKILL), then removes every container and image of the private store. */
    @Override
    public void close() throws IOException, InterruptedException {
        synchronized (running) {
            for (Process p : running) {
                p.destroy();
            }
            for (Process p : running) {
                if (!p.waitFor(20, TimeUnit.SECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
        try {
            exec(podman("rm", "-af"), 60);
            exec(podman("rmi", "-af"), 60);
        } catch (IOException e) {
            // the store is deleted with the test directory either way
        }
    }
}
