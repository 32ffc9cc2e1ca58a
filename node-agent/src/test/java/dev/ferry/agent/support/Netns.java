package dev.ferry.agent.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace made by a test (root only), deleted on close with everything started in it. Tests that need
 * one fail, never skip, when it cannot be made: CI runs as root.
 */
public final class Netns implements AutoCloseable {
    private final String name;
    private final List<Process> processes = new ArrayList<>();

    public Netns(String prefix) throws IOException, InterruptedException {
        this.name = prefix + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        run("ip", "netns", "add", name);
        try {
            exec("ip", "link", "set", "lo", "up");
        } catch (IOException | InterruptedException e) {
            close();
            throw e;
        }
    }

    /**
     * Joins two namespaces with a veth pair, {@code eth0} on both sides, addressed {@code a}/24 and {@code b}/24
     * (a pod-to-pod link without a bridge).
     */
    public static void link(Netns x, String a, Netns y, String b) throws IOException, InterruptedException {
        String tag = Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xfffffL);
        run("ip", "link", "add", "vx" + tag, "type", "veth", "peer", "name", "vy" + tag);
        run("ip", "link", "set", "vx" + tag, "netns", x.name(), "name", "eth0");
        run("ip", "link", "set", "vy" + tag, "netns", y.name(), "name", "eth0");
        for (Netns n : new Netns[] {x, y}) {
            n.exec("ip", "link", "set", "eth0", "up");
        }
        x.exec("ip", "addr", "add", a + "/24", "dev", "eth0");
        y.exec("ip", "addr", "add", b + "/24", "dev", "eth0");
    }

    public String name() {
        return name;
    }

    /** The namespace's path, as a runtime passes it in CNI_NETNS. */
    public java.nio.file.Path path() {
        return java.nio.file.Path.of("/run/netns", name);
    }

    /** Runs a command in the root namespace; fails with its output on a non-zero exit. */
    public static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out;
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", cmd));
            }
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            p.destroyForcibly();
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out);
        }
        return out;
    }

    /** Runs a command inside the namespace and waits for it. */
    public String exec(String... cmd) throws IOException, InterruptedException {
        return run(inside(cmd));
    }

    /** Starts a long-running command inside the namespace; it is killed on close. */
    public Process start(ProcessBuilder pb) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(inside(pb.command().toArray(String[]::new))));
        Process p = pb.command(cmd).start();
        processes.add(p);
        return p;
    }

    public String[] inside(String... cmd) {
        String[] full = new String[cmd.length + 4];
        full[0] = "ip";
        full[1] = "netns";
        full[2] = "exec";
        full[3] = name;
        System.arraycopy(cmd, 0, full, 4, cmd.length);
        return full;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        for (Process p : processes) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        run("ip", "netns", "delete", name);
    }
}
