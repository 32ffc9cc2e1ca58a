package dev.ferry.agent.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The packaged agent ({@code ferry-agent.jar}) as its own process, optionally inside a test namespace. */
public final class AgentProcess implements AutoCloseable {
    private final Process process;
    private final Path log;

    private AgentProcess(Process process, Path log) {
        this.process = process;
        this.log = log;
    }

    /** The JVM flags every launch of the agent reads (bin/ferry-agent, the image, the DaemonSet, the simulation). */
    public static final Path JVM_OPTIONS = Path.of("..", "deploy", "jvm.options");

    public static List<String> command(String... args) {
        String jar = System.getProperty("ferry.agent.jar");
        if (jar == null || !Files.exists(Path.of(jar))) {
            throw new IllegalStateException("ferry.agent.jar not built: " + jar + " (run through mvn verify)");
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "@" + JVM_OPTIONS.toAbsolutePath(), "-jar", jar));
        cmd.addAll(List.of(args));
        return cmd;
    }

    public static AgentProcess start(Netns ns, Path dir, Path config) throws IOException {
        return start(ns, dir, config, List.of());
    }

    /** @param prefix a command that execs the JVM, e.g. {@code prlimit --nofile=N:N} */
    public static AgentProcess start(Netns ns, Path dir, Path config, List<String> prefix) throws IOException {
        Path log = dir.resolve("agent-" + System.nanoTime() + ".log");
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(command("run", "--config", config.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Process p = ns == null ? pb.start() : ns.start(pb);
        return new AgentProcess(p, log);
    }

    public String output() throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }

    public void awaitLog(String needle, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!output().contains(needle)) {
            if (!process.isAlive()) {
                throw new AssertionError(
                        "agent exited " + process.exitValue() + " before logging '" + needle + "':\n" + output());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("agent did not log '" + needle + "' within " + timeout + ":\n" + output());
            }
            Thread.sleep(50);
        }
    }

    /** CPU seconds (user + system) the agent has used so far, from {@code /proc/PID/stat}. */
    public double cpuSeconds() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid()), "stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // fields 14, 15; USER_HZ is 100
    }

    /** The agent JVM's PID (the process we started may be {@code ip netns exec}, which execs into java). */
    public long pid() {
        return process.pid();
    }

    public void signal(String sig) throws IOException, InterruptedException {
        Netns.run("kill", "-" + sig, Long.toString(pid()));
    }

    public int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("agent still running after " + timeout);
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
