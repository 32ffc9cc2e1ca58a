package dev.ferry.agent.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A cgroup v2 group standing in for the kubelet's (this machine runs no kubelet): a test runs a probe client in
 * it, as the kubelet's own probe connections come from its cgroup. Removed by the test when done.
 */
public final class KubeletCgroupFixture {
    private KubeletCgroupFixture() {}

    /** The cgroup v2 mount point (on hybrid hosts /sys/fs/cgroup/unified). */
    public static Path mount() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            int dash = line.indexOf(" - ");
            if (dash > 0 && line.substring(dash + 3).startsWith("cgroup2 ")) {
                return Path.of(line.substring(0, dash).split(" ")[4]);
            }
        }
        throw new IOException("no cgroup v2 hierarchy is mounted");
    }

    public static Path create() throws IOException {
        String name = "ferry-test-kubelet-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffL);
        return Files.createDirectory(mount().resolve(name));
    }

    /** The path below the cgroup v2 root, as {@code kubeletCgroup} takes it. */
    public static String relative(Path cgroup) throws IOException {
        return mount().relativize(cgroup).toString();
    }

    /** Runs a command inside {@code node}'s network namespace from a process in the cgroup. */
    public static String run(Path cgroup, Netns node, String... cmd) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>(List.of(
                "sh",
                "-c",
                "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec nsenter --net=/run/netns/" + node.name()
                        + " \"$@\"",
                "probe"));
        full.addAll(List.of(cmd));
        return Netns.run(full.toArray(String[]::new));
    }

    public static void remove(Path cgroup) throws IOException {
        Files.deleteIfExists(cgroup); // empty once the probe processes exited
    }
}
