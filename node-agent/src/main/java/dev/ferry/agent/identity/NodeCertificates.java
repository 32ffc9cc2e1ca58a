package dev.ferry.agent.identity;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.health.Watchdog;
import dev.ferry.mesh.Identity;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Workload;
import dev.ferry.time.Ticker;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's workload certificates: which CA signs them (the remote CA when {@code caAddress} is set, else the
 * local CA of demos and tests), which trust bundle peers are checked against, the renewal worker (its own thread,
 * watched, never an event loop — it also re-reads the bundle file), and which identities this node wants: exactly
 * its meshed workloads. Readiness waits for the certificates of the workloads running at start.
 */
public final class NodeCertificates implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NodeCertificates.class);
    private static final Duration PERIODIC_ALLOWANCE = Duration.ofSeconds(60);

    private final NodeConfig config;
    private final CertificateManager manager;
    private final Supplier<List<X509Certificate>> trustBundle;
    private final RemoteCa remoteCa;
    private final ScheduledExecutorService renewal;
    /**
     * The identities of the workloads this node ran when the first snapshot came: readiness waits for their
     * certificates (as ztunnel's does), so a new agent of a surge upgrade takes over only once it can serve mTLS.
     * Later workloads do not gate readiness (one pod's CA trouble must not take the node's agent out).
     */
    private volatile Set<Identity> startupIdentities;

    private volatile boolean startupIn;

    private NodeCertificates(
            NodeConfig config,
            CertificateManager manager,
            Supplier<List<X509Certificate>> trustBundle,
            RemoteCa remoteCa,
            Runnable bundleRefresh,
            Watchdog watchdog) {
        this.config = config;
        this.manager = manager;
        this.trustBundle = trustBundle;
        this.remoteCa = remoteCa;
        this.renewal = Executors.newSingleThreadScheduledExecutor(new DefaultThreadFactory("ferry-certificates", true));
        renewal.scheduleWithFixedDelay(
                Watchdog.guarded(
                        watchdog.watch("certificates", PERIODIC_ALLOWANCE),
                        () -> {
                            bundleRefresh.run();
                            manager.runDue();
                        },
                        e -> log.error("certificate renewal failed", e)),
                0,
                1,
                TimeUnit.SECONDS);
    }

    public static NodeCertificates start(NodeConfig config, Ticker ticker, Watchdog watchdog) throws IOException {
        return config.caAddress().isEmpty() ? local(config, ticker, watchdog) : remote(config, ticker, watchdog);
    }

    private static NodeCertificates remote(NodeConfig config, Ticker ticker, Watchdog watchdog) throws IOException {
        String host = config.caAddress().substring(0, config.caAddress().lastIndexOf(':'));
        RemoteCa ca = new RemoteCa(
                config.caAddress(),
                config.caServerName().isEmpty() ? host : config.caServerName(),
                Path.of(config.caRootFile()),
                Path.of(config.caTokenFile()),
                Duration.ofSeconds(10));
        TrustBundle bundle = new TrustBundle(Path.of(config.trustBundleFile()));
        log.info("workload certificates come from the {}; trust bundle {}", ca.describe(), config.trustBundleFile());
        var manager = new CertificateManager(ca, bundle::certificates, ticker, config.certificateValidity());
        // the bundle file is re-read on the certificate worker's thread: file I/O never on an event loop
        return new NodeCertificates(config, manager, bundle::certificates, ca, bundle::refresh, watchdog);
    }

    private static NodeCertificates local(NodeConfig config, Ticker ticker, Watchdog watchdog) throws IOException {
        Path state = config.stateDir().isEmpty() ? null : Path.of(config.stateDir());
        Path cert = !config.caCertFile().isEmpty()
                ? Path.of(config.caCertFile())
                : state != null ? state.resolve("ca.pem") : null;
        Path key = !config.caKeyFile().isEmpty()
                ? Path.of(config.caKeyFile())
                : state != null ? state.resolve("ca-key.pem") : null;
        LocalCa ca = cert == null || key == null
                ? LocalCa.inMemory(config.trustDomain(), ticker)
                : LocalCa.loadOrCreate(cert, key, config.trustDomain(), ticker);
        log.warn(
                "workload certificates come from the {}: every node holding its key can mint any identity (demo and"
                        + " tests only)",
                ca.describe());
        List<X509Certificate> roots = List.of(ca.certificate());
        Supplier<List<X509Certificate>> bundle = () -> roots;
        var manager = new CertificateManager(ca, bundle, ticker, config.certificateValidity());
        return new NodeCertificates(config, manager, bundle, null, () -> {}, watchdog);
    }

    public CertificateManager manager() {
        return manager;
    }

    /** The roots peers' certificates must chain to. */
    public Supplier<List<X509Certificate>> trustBundle() {
        return trustBundle;
    }

    /** Wants certificates for exactly the meshed workloads of this node; called by the snapshot's writer. */
    public void want(MeshSnapshot s) {
        Set<Identity> ids = new HashSet<>();
        for (Workload w : s.workloadsOnNode(config.nodeName())) {
            if (w.inMesh()) {
                ids.add(w.identity(config.trustDomain()));
            }
        }
        if (manager.want(ids)) {
            fetchNow(); // a new pod's certificate now, not at the next tick: its first connection may be on its way
        }
        if (startupIdentities == null) {
            startupIdentities = Set.copyOf(ids);
        }
    }

    private void fetchNow() {
        try {
            renewal.execute(() -> {
                try {
                    manager.runDue();
                } catch (RuntimeException e) {
                    log.error("certificate fetch failed", e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // shutting down: nothing to fetch for
        }
    }

    /** Empty once every startup workload has had a valid certificate (latched: renewals never flip readiness). */
    public String startupPending() {
        Set<Identity> wanted = startupIdentities;
        if (startupIn) {
            return "";
        }
        if (wanted == null) {
            return "no mesh snapshot applied yet";
        }
        String pending = manager.pending(wanted);
        if (pending.isEmpty()) {
            startupIn = true;
        }
        return pending;
    }

    @Override
    public void close() {
        renewal.shutdownNow();
        if (remoteCa != null) {
            remoteCa.close();
        }
    }
}
