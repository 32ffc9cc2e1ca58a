package dev.ferry.agent.capture;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code net.ipv4.tcp_migrate_req} in a pod's namespace: with it, connections queued on a closing SO_REUSEPORT
 * listener move to the other listener of the group (the new agent's, during a rolling replacement) instead of being
 * reset. The file under {@code /proc/sys/net} is the namespace of the thread that opens it, so this runs inside the
 * pod's namespace. A container's {@code /proc/sys} is mounted read-only, which is why the CNI plugin (on the host, as
 * root) sets it before the agent sees the pod; the agent writes it only when it reads 0 and can write (the agent
 * running on the host), and otherwise says once per pod that queued connections may be reset at the next upgrade.
 */
final class PodSysctl {
    private static final Logger log = LoggerFactory.getLogger(PodSysctl.class);
    static final Path MIGRATE_REQ = Path.of("/proc/sys/net/ipv4/tcp_migrate_req");

    private PodSysctl() {}

    /** Call inside the pod's namespace. */
    static void ensureMigrateRequests(Path pod) {
        try {
            if (Files.readString(MIGRATE_REQ, StandardCharsets.US_ASCII).trim().equals("1")) {
                return;
            }
            Files.writeString(MIGRATE_REQ, "1", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            log.warn(
                    "pod {}: net.ipv4.tcp_migrate_req is not 1 and cannot be set here ({}): connections queued at an"
                            + " agent upgrade may be reset; is ferry-cni last in the chain and current?",
                    pod,
                    e.toString());
        }
    }
}
