package dev.ferry.agent.lifecycle;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the JVM flags the agent must run with. Without {@code -XX:+ExitOnOutOfMemoryError} an
 * {@code OutOfMemoryError} ends only the thread it hits (an event loop, the mesh watcher) and the agent limps on,
 * looking alive; with it the JVM exits and the kubelet restarts the pod. Every launch we ship sets it.
 */
final class JvmFlags {
    private static final Logger log = LoggerFactory.getLogger(JvmFlags.class);

    private JvmFlags() {}

    static void warnIfUnsafe() {
        try {
            HotSpotDiagnosticMXBean hs = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
            if (!"true".equals(hs.getVMOption("ExitOnOutOfMemoryError").getValue())) {
                log.warn("the JVM runs without -XX:+ExitOnOutOfMemoryError: an OutOfMemoryError would end one thread"
                        + " and leave the agent half alive; add it (bin/ferry-agent and the DaemonSet do)");
            }
        } catch (RuntimeException e) {
            log.debug("cannot read JVM flags: {}", e.toString());
        }
    }
}
