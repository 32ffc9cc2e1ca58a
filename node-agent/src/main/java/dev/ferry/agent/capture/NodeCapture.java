package dev.ferry.agent.capture;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.health.EventLoopProbe;
import dev.ferry.agent.health.Watchdog;
import dev.ferry.agent.net.Transport;
import dev.ferry.agent.observability.Metrics;
import dev.ferry.cni.install.ConflistWatcher;
import dev.ferry.mesh.MeshSnapshot;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything that captures this node's pods, apart from the listeners themselves: the CNI plugin's pod-event
 * server and its event loop, re-attaching the pods a previous agent captured, the host rules (probe SNAT) and their
 * refresh schedule (a restarted kubelet gets a new cgroup), keeping Ferry in the CNI chain, and the enrolled
 * namespaces file the plugin reads. The pod-event parts run only when {@code podEventSocket} is set.
 */
public final class NodeCapture implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NodeCapture.class);
    private static final Duration PERIODIC_ALLOWANCE = Duration.ofSeconds(60);

    private final NodeConfig config;
    private final Supplier<MeshSnapshot> snapshot;
    private final PodEvents.Attacher attacher;
    private final CapturedPodMarker marker;
    private final Watchdog watchdog;
    private final Metrics metrics;
    private final Set<String> warnedUncaptured = ConcurrentHashMap.newKeySet();

    private EnrolledNamespacesFile enrolledFile;
    private EventLoopGroup podEventGroup;
    private volatile PodEvents podEvents;
    private PodEventServer podEventServer;
    private ConflistWatcher cniWatcher;
    private ScheduledExecutorService hostRulesRefresh;

    public NodeCapture(
            NodeConfig config,
            Supplier<MeshSnapshot> snapshot,
            PodEvents.Attacher attacher,
            CapturedPodMarker marker,
            Watchdog watchdog,
            Metrics metrics) {
        this.config = config;
        this.snapshot = snapshot;
        this.attacher = attacher;
        this.marker = marker;
        this.watchdog = watchdog;
        this.metrics = metrics;
    }

    /**
     * Re-attaches the pods a previous agent captured, then takes CNI calls. Call once the data path is bound and
     * before serving (and so before reporting ready).
     *
     * <p>Re-attaching a pod joins its listeners' SO_REUSEPORT groups: from then on the kernel hands this agent a share
     * of the pod's new connections, while the previous agent (in a rolling replacement) still serves the rest. So it
     * first waits until it can serve them — {@code canServe} empty: the mesh state in and the certificates of this
     * node's workloads issued — for at most {@code bound}; past that it re-attaches anyway (a pod left without capture
     * when the previous agent stops is worse than a slow first connection) and says why.
     */
    public void start(Supplier<String> canServe, Duration bound, dev.ferry.time.Ticker ticker)
            throws IOException, InterruptedException {
        if (config.podEventSocket().isEmpty()) {
            return;
        }
        long deadline = ticker.nanoTime() + bound.toNanos();
        String waiting = canServe.get();
        while (!waiting.isEmpty() && ticker.nanoTime() - deadline < 0) {
            Thread.sleep(20);
            waiting = canServe.get();
        }
        if (!waiting.isEmpty()) {
            log.warn("re-attaching captured pods after {} s although {}", bound.toSeconds(), waiting);
        }
        // fd passing over Unix sockets needs epoll, whatever carries the data path
        podEventGroup = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("ferry-cni", true));
        EventLoopProbe.watch(podEventGroup, "ferry-cni", watchdog);
        Path hostNetns = config.hostNetns().isEmpty() ? null : Path.of(config.hostNetns());
        HostRules hostRules =
                new HostRules(config.probeSnat(), config.kubeletCgroup(), config.probeAddress(), hostNetns);
        hostRules.capturedPods(Map.of());
        PodEvents events = new PodEvents(
                snapshot,
                attacher,
                pods -> {
                    hostRules.capturedPods(pods);
                    marker.captured(pods.keySet());
                },
                new PodEvents.Settings(
                        config.nodeName(),
                        config.stateDir().isEmpty() ? null : Path.of(config.stateDir()),
                        config.podCidrs(),
                        hostNetns));
        events.restore();
        podEvents = events;
        metrics.pods(
                events::capturedCount, () -> events.uncaptured(snapshot.get()).size());
        warnUncaptured(snapshot.get());
        podEventServer = PodEventServer.bind(podEventGroup, Path.of(config.podEventSocket()), events);
        if (!config.cniConfDir().isEmpty()) {
            // the plugin it chains calls the server bound above
            cniWatcher = CniInstall.watch(config, watchdog.watch("cni-conf-watch", PERIODIC_ALLOWANCE)::beat);
        }
        hostRulesRefresh =
                Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("ferry-host-rules", true));
        hostRulesRefresh.scheduleWithFixedDelay(
                Watchdog.guarded(
                        watchdog.watch("host-rules", PERIODIC_ALLOWANCE),
                        () -> {
                            try {
                                hostRules.refresh();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        e -> log.error("host rules refresh failed", e)),
                5,
                5,
                TimeUnit.SECONDS);
    }

    /** The snapshot's writer tells capture of each new snapshot. */
    public void onSnapshot(MeshSnapshot s) {
        warnUncaptured(s);
        if (config.enrolledNamespacesFile().isEmpty()) {
            return;
        }
        try {
            if (enrolledFile == null) {
                enrolledFile = new EnrolledNamespacesFile(Path.of(config.enrolledNamespacesFile()));
            }
            enrolledFile.update(s);
        } catch (IOException e) {
            log.error("cannot write {}: {}", config.enrolledNamespacesFile(), e.getMessage());
        }
    }

    /** Names, once each, the running pods of enrolled namespaces that were never captured (see the README). */
    private void warnUncaptured(MeshSnapshot s) {
        PodEvents events = podEvents;
        if (events == null) {
            return;
        }
        List<String> now = events.uncaptured(s);
        for (String key : now) {
            if (warnedUncaptured.add(key)) {
                log.warn(
                        "pod {} runs in an enrolled namespace but this agent never captured it: its traffic bypasses"
                                + " Ferry until it is restarted. Causes: it started before its namespace was enrolled,"
                                + " or its runtime ran a CNI chain without ferry-cni (a conflist that does not end in"
                                + " ferry-cni, or a call without K8S_POD_NAMESPACE under cniUnplacedPods: passthrough)",
                        key);
            }
        }
        warnedUncaptured.retainAll(now);
    }

    /**
     * Stops taking CNI calls and stops every pod's listeners (their redirect rules stay; HBONE peers are sent GOAWAY);
     * the pods' namespaces stay open for the connections that are draining. Idempotent.
     */
    public void stopPodEvents() {
        if (podEventServer != null) {
            try {
                podEventServer.close();
            } catch (IOException e) {
                log.debug("closing pod-event server: {}", e.toString());
            }
            podEventServer = null;
        }
        if (podEvents != null) {
            podEvents.stopListening();
        }
    }

    @Override
    public void close() {
        stopPodEvents();
        if (podEvents != null) {
            podEvents.closeAll();
        }
        marker.close(); // the marks stay: a restarted agent re-attaches the same pods
        if (podEventGroup != null) {
            podEventGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        if (cniWatcher != null) {
            try {
                cniWatcher.close();
            } catch (IOException e) {
                log.debug("closing CNI config watcher: {}", e.toString());
            }
        }
        if (hostRulesRefresh != null) {
            hostRulesRefresh.shutdownNow(); // the table stays: a restarted agent rewrites it
        }
    }
}
