package dev.ferry.agent.lifecycle;

import dev.ferry.agent.admin.ConfigDump;
import dev.ferry.agent.admin.ConfigDumpRoute;
import dev.ferry.agent.admin.ControlRoute;
import dev.ferry.agent.admin.ControlServer;
import dev.ferry.agent.admin.LoggingHandler;
import dev.ferry.agent.admin.MetricsHandler;
import dev.ferry.agent.admin.QuitRoute;
import dev.ferry.agent.admin.Readiness;
import dev.ferry.agent.admin.ReadinessHandler;
import dev.ferry.agent.capture.CapturedPodMarker;
import dev.ferry.agent.capture.KubernetesPodMarker;
import dev.ferry.agent.capture.NodeCapture;
import dev.ferry.agent.capture.PodCapture;
import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.connector.Connectors;
import dev.ferry.agent.hbone.Hbone;
import dev.ferry.agent.hbone.HboneClient;
import dev.ferry.agent.hbone.HboneConnector;
import dev.ferry.agent.hbone.HboneTls;
import dev.ferry.agent.health.EventLoopProbe;
import dev.ferry.agent.health.Watchdog;
import dev.ferry.agent.http.HttpInbound;
import dev.ferry.agent.http.HttpOutbound;
import dev.ferry.agent.http.RetryBudgets;
import dev.ferry.agent.identity.CertificateManager;
import dev.ferry.agent.identity.NodeCertificates;
import dev.ferry.agent.net.NativeSocketFactory;
import dev.ferry.agent.net.OriginalDestination;
import dev.ferry.agent.net.SoOriginalDst;
import dev.ferry.agent.net.Transport;
import dev.ferry.agent.net.TransportSelector;
import dev.ferry.agent.observability.AccessLog;
import dev.ferry.agent.observability.Metrics;
import dev.ferry.agent.proxy.CaptureListener;
import dev.ferry.agent.proxy.ConnectionRegistry;
import dev.ferry.agent.proxy.RelayContext;
import dev.ferry.agent.routing.DestinationResolver;
import dev.ferry.agent.routing.RequestBalancer;
import dev.ferry.agent.routing.RoundRobinBalancer;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.PolicyEngine;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.mesh.source.MeshSource;
import dev.ferry.mesh.source.ReloadReport;
import dev.ferry.time.Ticker;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The node agent: wires config, mesh source, transport, listeners and control endpoints. Start binds everything,
 * then serves; stop drains. One instance per process (tests may run several in one JVM on ephemeral ports).
 */
public final class Agent implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    /**
     * How long a starting agent waits for the mesh state and its workloads' certificates before re-attaching the pods
     * a previous agent captured (see NodeCapture#start): a remote CA answers in well under a second; past this, a CA
     * outage must not leave pods uncaptured when the previous agent goes.
     */
    private static final Duration RESTORE_WAIT = Duration.ofSeconds(20);
    /** What a mesh reload may take beyond its poll interval: a budget-sized file parses in well under this. */
    private final NodeConfig config;

    private final Ticker ticker;
    private final RelayTimers timers;
    private final OriginalDestination originalDestination;
    private final AtomicReference<MeshSnapshot> snapshot = new AtomicReference<>(MeshSnapshot.empty());
    private final Metrics metrics = new Metrics();
    private final Watchdog watchdog;
    private final RoundRobinBalancer balancer = new RoundRobinBalancer();
    private final RequestBalancer requestBalancer =
            new RequestBalancer(balancer, java.util.concurrent.ThreadLocalRandom.current());
    private final RetryBudgets retryBudgets;
    private final ConnectionRegistry registry;
    private final AtomicBoolean draining = new AtomicBoolean();
    private final AtomicBoolean serving = new AtomicBoolean();
    private final List<ControlServer> endpoints = new ArrayList<>();
    private final Runnable onQuit;

    private Transport transport;
    private EventLoopGroup group;
    private MeshSource meshSource;
    private CaptureListener outbound;
    private CaptureListener inbound;
    private ControlServer admin;
    private ControlServer metricsEndpoint;
    private ControlServer readiness;
    private NativeSocketFactory hostSockets;
    private volatile NodeCertificates certificates;
    private NodeCapture capture;
    private Readiness readinessCheck;
    private Hbone hbone;
    private RelayContext relay;

    /**
     * @param originalDestination null for the real {@code SO_ORIGINAL_DST}; tests on loopback pass their own
     * @param onQuit what {@code /quitquitquit} does (the process entry point drains and exits)
     */
    public Agent(NodeConfig config, Ticker ticker, OriginalDestination originalDestination, Runnable onQuit) {
        this(config, ticker, RelayTimers.NETTY, originalDestination, onQuit);
    }

    /** @param timers the connections' timeouts, on {@code ticker}'s clock (tests pair a manual ticker with them) */
    public Agent(
            NodeConfig config,
            Ticker ticker,
            RelayTimers timers,
            OriginalDestination originalDestination,
            Runnable onQuit) {
        this.config = config;
        this.ticker = ticker;
        this.timers = timers;
        this.retryBudgets = new RetryBudgets(ticker);
        this.originalDestination = originalDestination == null ? new SoOriginalDst() : originalDestination;
        this.registry = new ConnectionRegistry(
                config.maxConnections(),
                config.maxConnectionsPerWorkload(),
                config.maxConnectionsPerSource(),
                config.reservedConnectionsPercent());
        this.onQuit = onQuit;
        this.watchdog = new Watchdog(ticker);
    }

    /** Binds every listener, then serves. Throws (having released what it bound) when any bind fails. */
    public void start() throws IOException, InterruptedException {
        try {
            startUnsafe();
        } catch (IOException | RuntimeException | InterruptedException e) {
            close();
            throw e;
        }
    }

    private void startUnsafe() throws IOException, InterruptedException {
        log.info("effective config: {}", JSON.writeValueAsString(ConfigDump.nodeConfig(config)));
        transport = TransportSelector.select(config.transport());
        int loops = config.eventLoops() > 0
                ? config.eventLoops()
                : Runtime.getRuntime().availableProcessors();
        group = transport.newGroup(loops, new DefaultThreadFactory("ferry-io", true));
        log.info("transport {} with {} event loop(s), relay {}", transport.label(), loops, config.relay());
        if (config.relay() == NodeConfig.RelayMode.SPLICE) {
            // Two sockets plus a pipe (two fds) per direction: size the fd limit, or maxConnections, for it.
            log.warn(
                    "relay splice holds 6 file descriptors per connection: maxConnections={} needs ~{} fds",
                    config.maxConnections(),
                    6L * config.maxConnections());
        }
        metrics.transport(transport.label(), loops);
        metrics.workers(watchdog::watched);
        EventLoopProbe.watch(group, "ferry-io", watchdog);
        metrics.openConnections(registry::outbound, registry::inbound);

        certificates = NodeCertificates.start(config, ticker, watchdog);
        CertificateManager certs = certificates.manager();
        hbone = new Hbone(
                new HboneTls(certificates.trustBundle(), ticker, config.trustDomain()),
                certs::current,
                config.trustDomain());
        MeshSources.Opened opened = MeshSources.open(
                config, new MeshAssembler(config.rootNamespace(), this::applySnapshot), this::onReload, watchdog);
        meshSource = opened.source();
        metrics.meshSourceWatching(meshSource::watching);
        // with the API as the source, this agent marks the pods it captures (the file's control plane writes it)
        CapturedPodMarker marker = opened.client() == null
                ? CapturedPodMarker.NONE
                : new KubernetesPodMarker(opened.client(), watchdog.watch("pod-marker", Duration.ofSeconds(60)));
        capture = new NodeCapture(config, snapshot::get, this::attachPod, marker, watchdog, metrics);
        readinessCheck = new Readiness(List.of(
                () -> draining.get() ? "draining" : "",
                () -> snapshot.get().version() != 0
                        ? ""
                        : meshSource.staleReason().isEmpty()
                                ? "no mesh state yet from " + meshSource.kind() + " " + meshSource.location()
                                : "no mesh state yet: " + meshSource.staleReason(),
                () -> serving.get() ? "" : "listeners not bound yet",
                watchdog::problems,
                () -> meshSource.staleReason(),
                certificates::startupPending));
        meshSource.start();

        // Bind everything first: control endpoints (bound, not serving) and capture listeners (accept off).
        MetricsHandler scrape = new MetricsHandler(metrics.registry());
        admin = bindControl(
                "admin",
                config.adminAddress(),
                config.adminPort(),
                Map.of(
                        "/config_dump",
                        new ConfigDumpRoute(
                                config,
                                () -> transport.label(),
                                snapshot::get,
                                registry::records,
                                () -> certificates.manager(),
                                watchdog),
                        "/logging",
                        new LoggingHandler(),
                        "/quitquitquit",
                        new QuitRoute(onQuit)));
        metricsEndpoint = bindControl(
                "metrics",
                config.metricsAddress(),
                config.metricsPort(),
                Map.of("/metrics", scrape, "/stats/prometheus", scrape));
        readiness = bindControl(
                "readiness",
                config.metricsAddress(),
                config.readinessPort(),
                Map.of("/healthz/ready", new ReadinessHandler(this::notReadyReason)));

        Workload owner = listenerOwner();
        Set<InetSocketAddress> own = ConcurrentHashMap.newKeySet();
        hostSockets = new NativeSocketFactory(
                transport,
                config.connectTimeout(),
                config.tcpKeepalive(),
                config.keepaliveIdle(),
                config.relay() == NodeConfig.RelayMode.SPLICE);
        AccessLog accessLog = new AccessLog(ticker, config.accessLog());
        Connectors connectors = new Connectors(
                config.hboneOutbound() == NodeConfig.HboneOutbound.OFF
                        ? null
                        : new HboneConnector(new HboneClient(hbone.tls()), hbone.certificates(), config.trustDomain()),
                config.hboneOutbound() == NodeConfig.HboneOutbound.AUTO,
                new java.util.concurrent.atomic.LongAdder());
        metrics.uncapturedPlaintext(connectors.uncaptured()::sum);
        RelayContext ctx = new RelayContext(
                snapshot::get,
                new DestinationResolver(config.unknownDestination(), config.nodeName(), own),
                requestBalancer,
                originalDestination,
                hostSockets,
                registry,
                metrics,
                accessLog,
                ticker,
                timers,
                config.idleTimeout(),
                config.firstByteTimeout(),
                config.halfCloseTimeout(),
                config.trustDomain(),
                config.clusterDomain(),
                config.relay() == NodeConfig.RelayMode.SPLICE,
                new AtomicLong(),
                connectors,
                config.l7Outbound()
                        ? HttpOutbound.of(
                                snapshot::get,
                                requestBalancer,
                                metrics.requests(),
                                accessLog,
                                ticker,
                                timers,
                                retryBudgets,
                                config.clusterDomain(),
                                config.trustDomain(),
                                config.httpHeadTimeout(),
                                config.httpIdleTimeout())
                        : null,
                HttpInbound.of(
                        metrics.requests(),
                        accessLog,
                        ticker,
                        timers,
                        config.httpHeadTimeout(),
                        config.httpIdleTimeout()));
        relay = ctx;
        outbound = new CaptureListener(ctx, Direction.OUTBOUND, "outbound", owner);
        inbound = new CaptureListener(ctx, Direction.INBOUND, "inbound", owner);
        bindCapture(outbound, config.outboundPort());
        bindCapture(inbound, config.inboundPort());
        own.add(outbound.localAddress());
        own.add(inbound.localAddress());

        // restored pods' listeners take connections as soon as they are bound: not before the certificates are in
        capture.start(
                () -> snapshot.get().version() == 0 ? "no mesh state yet" : certificates.startupPending(),
                RESTORE_WAIT,
                ticker);

        // Then serve.
        outbound.serve();
        inbound.serve();
        endpoints.forEach(ControlServer::serve);
        serving.set(true);
        log.info(
                "serving: outbound {}, inbound {}, admin {}, metrics {}, readiness {}",
                outbound.localAddress(),
                inbound.localAddress(),
                admin.address(),
                metricsEndpoint.address(),
                readiness.address());
    }

    private Workload listenerOwner() {
        if (config.listenerWorkload().isEmpty()) {
            return null;
        }
        String[] parts = config.listenerWorkload().split("/", 2);
        return snapshot.get().workload(parts[0], parts[1]).orElseGet(() -> {
            log.warn(
                    "listenerWorkload {} is not in the mesh snapshot; listeners have no owner",
                    config.listenerWorkload());
            return null;
        });
    }

    /** A control endpoint on the agent's own event loops (see {@link ControlServer}: bounded, slowloris-proof). */
    private ControlServer bindControl(String name, InetAddress address, int port, Map<String, ControlRoute> routes)
            throws IOException, InterruptedException {
        ControlServer s = ControlServer.bind(
                name,
                group,
                transport.serverChannel(),
                new InetSocketAddress(address, port),
                routes,
                ControlServer.Limits.DEFAULT);
        endpoints.add(s);
        return s;
    }

    private void bindCapture(CaptureListener l, int port) throws IOException, InterruptedException {
        InetSocketAddress addr = new InetSocketAddress(config.captureAddress(), port);
        ChannelFuture f = l.bind(group, addr).await();
        if (!f.isSuccess()) {
            throw new IOException(
                    "cannot bind " + l.name() + " listener " + addr + ": "
                            + f.cause().getMessage(),
                    f.cause());
        }
    }

    private void applySnapshot(MeshSnapshot s) {
        MeshSnapshot previous = snapshot.getAndSet(s);
        balancer.retainOnly(s);
        requestBalancer.retainOnly(s);
        retryBudgets.retainOnly(s);
        applyPolicies(previous.authz(), s);
        if (certificates != null) {
            certificates.want(s);
        }
        if (capture != null) {
            capture.onSnapshot(s);
        }
    }

    /**
     * When the new state's policies changed (the state keeps its predecessor's compiled engine otherwise), re-checks
     * live inbound connections against them and cuts those they now deny. The state writer is the only caller.
     */
    private void applyPolicies(PolicyEngine current, MeshSnapshot s) {
        PolicyEngine next = s.authz();
        if (next == current) {
            return;
        }
        long invalid = s.policies().stream().filter(p -> !p.valid()).count();
        log.info(
                "authorization: {} polic{} in force ({} invalid, failing closed), was {}",
                next.size(),
                next.size() == 1 ? "y" : "ies",
                invalid,
                current.size());
        int cut = registry.recheck(next, (r, d) -> {
            metrics.authzDecision(false, d.policy());
            log.info("cutting connection {} from {}: {}", r.id(), r.source(), d.reason());
        });
        metrics.authzCut(cut);
    }

    public CertificateManager certificates() {
        NodeCertificates c = certificates;
        return c == null ? null : c.manager();
    }

    private void onReload(ReloadReport r) {
        metrics.meshReload(r.outcome().label(), r.version());
    }

    /**
     * Empty when ready: first snapshot in, every listener bound and serving, the certificates of the workloads
     * running at start fetched, not draining.
     */
    public String notReadyReason() {
        Readiness r = readinessCheck;
        return r == null ? "not started" : r.notReadyReason();
    }

    /**
     * Stops accepting, waits up to {@code deadline} for open connections to finish, closes the rest, then releases
     * everything. Safe to call more than once.
     */
    public void drainAndStop(Duration deadline) throws InterruptedException {
        if (!draining.compareAndSet(false, true)) {
            return;
        }
        log.info("draining: {} open connection(s), deadline {} ms", registry.size(), deadline.toMillis());
        // Stop taking pod events and close every pod's listeners too: in a rolling upgrade the new agent's
        // SO_REUSEPORT listeners take the new (and the queued) connections while ours finish.
        if (capture != null) {
            capture.stopPodEvents();
        }
        for (CaptureListener l : new CaptureListener[] {outbound, inbound}) {
            ChannelFuture closing = l == null ? null : l.close();
            if (closing != null) {
                closing.await(1, TimeUnit.SECONDS);
            }
        }
        long end = ticker.nanoTime() + deadline.toNanos();
        while (registry.size() > 0 && ticker.nanoTime() < end) {
            Thread.sleep(50);
        }
        int left = registry.size();
        if (left > 0) {
            log.info("drain deadline reached: closing {} connection(s)", left);
            registry.closeAll(CloseReason.DRAINED, "drain deadline of " + deadline.toMillis() + " ms reached");
            long hard = ticker.nanoTime() + Duration.ofSeconds(2).toNanos();
            while (registry.size() > 0 && ticker.nanoTime() < hard) {
                Thread.sleep(20);
            }
        }
        log.info("drained");
        close();
    }

    @Override
    public void close() {
        draining.set(true);
        if (capture != null) {
            capture.close();
        }
        if (certificates != null) {
            certificates.close();
        }
        endpoints.forEach(ControlServer::close);
        if (outbound != null) {
            outbound.close();
        }
        if (inbound != null) {
            inbound.close();
        }
        if (group != null) {
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        if (meshSource != null) {
            try {
                meshSource.close();
            } catch (IOException e) {
                log.debug("closing mesh watcher: {}", e.toString());
            }
        }
    }

    /**
     * Captures a pod: redirect rules and a listener set inside its network namespace, owned by {@code workload}.
     * Blocking (runs nft); the caller owns the returned capture and closes it when the pod goes.
     */
    public PodCapture attachPod(Path netns, Workload workload) throws IOException, InterruptedException {
        if (relay == null) {
            throw new IllegalStateException("agent not started");
        }
        InetAddress probes = config.probeSnat() == NodeConfig.ProbeSnat.OFF ? null : config.probeAddress();
        return PodCapture.attach(
                relay,
                hostSockets,
                group,
                netns,
                workload,
                probes,
                hbone,
                config.trustDomain(),
                // a HashSet: tests run the control ports on 0 (ephemeral), and Set.of refuses duplicates
                new java.util.HashSet<>(List.of(config.adminPort(), config.metricsPort(), config.readinessPort())));
    }

    public Metrics metrics() {
        return metrics;
    }

    public ConnectionRegistry registry() {
        return registry;
    }

    public MeshSnapshot snapshot() {
        return snapshot.get();
    }

    public Transport transport() {
        return transport;
    }

    public InetSocketAddress outboundAddress() {
        return outbound.localAddress();
    }

    public InetSocketAddress inboundAddress() {
        return inbound.localAddress();
    }

    public InetSocketAddress adminAddress() {
        return admin.address();
    }

    public InetSocketAddress metricsAddress() {
        return metricsEndpoint.address();
    }

    public EventLoopGroup eventLoops() {
        return group;
    }

    /** The event loop the readiness endpoint runs on (tests block another one). */
    public io.netty.channel.EventLoop readinessEventLoop() {
        return readiness.eventLoop();
    }

    public InetSocketAddress readinessAddress() {
        return readiness.address();
    }
}
