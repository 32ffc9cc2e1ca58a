package dev.ferry.agent.capture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where the kubelet's cgroup v2 directory is, in the form nftables' {@code socket cgroupv2} needs: nft resolves the
 * path it is given under {@code /sys/fs/cgroup} to the directory's inode (the cgroup id) when the rule is loaded.
 * On a hybrid host the v2 hierarchy is mounted at {@code /sys/fs/cgroup/unified}, so the mount point is found from
 * {@code /proc/self/mountinfo} rather than assumed. A restarted kubelet may get a new cgroup (same path, new id):
 * {@link #id()} lets the caller notice and reload the rule.
 */
record KubeletCgroup(Path mount, String relative) {
    private static final Path NFT_BASE = Path.of("/sys/fs/cgroup");

    /** Finds the cgroup v2 mount of this mount namespace; empty when there is none under /sys/fs/cgroup. */
    static Optional<KubeletCgroup> locate(String kubeletCgroup) throws IOException {
        String relative = trim(kubeletCgroup);
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            // <id> <parent> <maj:min> <root> <mount point> <options> [optional...] - <fstype> <source> <super>
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            List<String> head = List.of(line.substring(0, dash).split(" "));
            String fstype = line.substring(dash + 3).split(" ")[0];
            if (fstype.equals("cgroup2") && head.size() > 4) {
                Path mount = Path.of(head.get(4));
                if (mount.startsWith(NFT_BASE)) {
                    return Optional.of(new KubeletCgroup(mount, relative));
                }
            }
        }
        return Optional.empty();
    }

    private static String trim(String path) {
        String p = path.strip();
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p;
    }

    Path directory() {
        return mount.resolve(relative);
    }

    /** The cgroup id (the directory's inode), or -1 while the cgroup does not exist. */
    long id() {
        try {
            return ((Number) Files.getAttribute(directory(), "unix:ino")).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            return -1;
        }
    }

    /** The nft expression matching sockets of processes in this cgroup or below it. */
    String nftMatch() {
        String nftPath = NFT_BASE.relativize(mount).resolve(relative).toString();
        int level = relative.split("/").length; // depth below the v2 root, whatever the mount point
        return "socket cgroupv2 level " + level + " \"" + nftPath + "\"";
    }
}
