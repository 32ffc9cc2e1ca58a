package dev.ferry.mesh.kube;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshOrigin;
import dev.ferry.mesh.source.DocumentError;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.mesh.source.MeshDocumentParser;
import dev.ferry.mesh.source.MeshSource;
import dev.ferry.mesh.source.ReloadReport;
import dev.ferry.time.Backoff;
import io.netty.handler.codec.http.HttpMethod;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;

/**
 * The Kubernetes API as the mesh source: a {@link KindWatch} (list, then watch) for every kind a node needs, each
 * object converted by the same converters as the mesh file as it arrives, and one publisher thread that hands the
 * whole document set to the {@link MeshAssembler} — after the initial lists of every kind are in (readiness waits
 * until then), and then once per burst of changes.
 *
 * <p>A node watches the whole cluster's Pods, Services and EndpointSlices, not only its own: an outbound connection
 * may go to any pod, and the agent must know that pod's identity, whether it is captured, and which Service fronts
 * it. The watches keep only keys and resource versions; what the mesh keeps of a resource is its converted form, a
 * fraction of the object (no managedFields, no status it does not read).
 *
 * <p>Failure stance: unreachable at start, the source retries with backoff and readiness names the API server; once
 * synced, a lost watch keeps the last good state while it resumes (and relists on {@code 410 Gone}); an RBAC
 * refusal is reported once, naming the resource and verb the API server refused. The watches and conversions run on
 * the API client's own loop ({@link KubeHttp}), the publishing on this source's thread; neither is a data-plane loop.
 */
public final class KubernetesSource implements MeshSource {
    private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);
    private static final Duration TICK = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(15);

    private final KubeHttp client;
    private final MeshAssembler assembler;
    private final Consumer<ReloadReport> reports;
    private final Heartbeat heartbeat;
    private final Duration debounce;
    private final MeshDocumentParser parser = new MeshDocumentParser();
    private final AtomicBoolean dirty = new AtomicBoolean();
    private final LinkedBlockingQueue<Boolean> wake = new LinkedBlockingQueue<>(1);
    private final DocumentStore store = new DocumentStore(this::changed);
    private final List<KindWatch> core = new CopyOnWriteArrayList<>();
    /** Watches of the custom kinds whose CRDs are installed, by CRD name. */
    private final Map<String, KindWatch> custom = new ConcurrentHashMap<>();
    /** The version each custom kind is read at, by CRD name. */
    private final Map<String, String> customVersions = new ConcurrentHashMap<>();
    /** Why each watch last failed, by kind; cleared when it watches again. */
    private final Map<String, String> failures = new ConcurrentHashMap<>();

    private volatile CrdHandler crds;
    private volatile KindWatch crdWatch;
    private volatile boolean started;
    private volatile boolean synced;
    private volatile String startProblem = "not connected yet";
    private volatile boolean closed;
    private volatile Thread thread;

    /**
     * @param client the API client, owned from here on (closed with the source)
     * @param debounce how long a burst of changes is gathered into one state (a rollout changes many pods at once)
     * @param heartbeat the publisher thread's liveness, beaten every second
     */
    public KubernetesSource(
            KubeHttp client,
            MeshAssembler assembler,
            Consumer<ReloadReport> reports,
            Duration debounce,
            Heartbeat heartbeat) {
        this.client = client;
        this.assembler = assembler;
        this.reports = reports;
        this.debounce = debounce;
        this.heartbeat = heartbeat;
    }

    @Override
    public String kind() {
        return "kubernetes";
    }

    @Override
    public String location() {
        return client.url();
    }

    @Override
    public void start() {
        Thread t = Thread.ofPlatform().daemon().name("mesh-kubernetes").unstarted(this::run);
        thread = t;
        t.start();
    }

    /**
     * Before the first state: why there is none yet (the API server unreachable, a kind refused or still listing).
     * After it, empty: a control-plane outage must not take the node's data plane out of service, so the last good
     * state is served and the lost watches are logged and shown by {@link #watching()}.
     */
    @Override
    public String staleReason() {
        if (synced) {
            return "";
        }
        if (!started) {
            return "kubernetes API server " + location() + ": " + startProblem;
        }
        List<String> waiting = new ArrayList<>();
        for (KindWatch w : watched()) {
            if (!w.synced()) {
                String failure = failures.get(w.kind());
                waiting.add(w.kind() + (failure == null ? " (listing)" : " (" + failure + ")"));
            }
        }
        return "kubernetes source not synced with " + location() + ": waiting for "
                + (waiting.isEmpty() ? "the CustomResourceDefinitions" : String.join(", ", waiting));
    }

    @Override
    public Map<String, Boolean> watching() {
        Map<String, Boolean> out = new LinkedHashMap<>();
        for (KindWatch w : watched()) {
            out.put(w.kind(), w.watching());
        }
        return out;
    }

    private List<KindWatch> watched() {
        List<KindWatch> all = new ArrayList<>(core);
        all.addAll(custom.values());
        return all;
    }

    private void changed() {
        dirty.set(true);
        wake.offer(Boolean.TRUE);
    }

    private void run() {
        Duration backoff = TICK;
        while (!closed) {
            heartbeat.beat();
            client.server().token().refresh(); // a rotated token file, read here and not on the client's loop
            try {
                if (!started) {
                    try {
                        startWatches();
                        started = true;
                    } catch (KubeApiException e) {
                        startProblem = e.describe();
                        log.warn("kubernetes source: {} (retrying in {} s)", startProblem, backoff.toSeconds());
                        stopWatches();
                        Thread.sleep(backoff.toMillis());
                        backoff = Backoff.next(backoff, MAX_BACKOFF);
                        continue;
                    }
                }
                if (wake.poll(TICK.toMillis(), TimeUnit.MILLISECONDS) != null) {
                    Thread.sleep(debounce.toMillis()); // gather the rest of the burst
                    wake.clear();
                }
                if (!synced) {
                    if (!caughtUp()) {
                        continue;
                    }
                    synced = true;
                    crds.reportMissing();
                    log.info("kubernetes source: synced with {}, {} resources", location(), store.size());
                    dirty.set(true);
                }
                if (dirty.getAndSet(false)) {
                    publish();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                // a defect of ours, not of the input: reported, and the publisher lives on with the last good state
                log.error("kubernetes source: publishing failed", e);
                heartbeat.failed(e);
            }
        }
    }

    private boolean caughtUp() {
        CrdHandler c = crds;
        KindWatch cw = crdWatch;
        if (c == null || cw == null || !cw.synced()) {
            return false;
        }
        for (KindWatch w : watched()) {
            if (!w.synced()) {
                return false;
            }
        }
        return custom.keySet().containsAll(c.wanted());
    }

    private void publish() {
        Map<String, String> versions = new LinkedHashMap<>();
        for (KindWatch w : watched()) {
            versions.put(w.kind(), w.resourceVersion());
        }
        List<DocumentError> errors = store.errors();
        var docs = store.documents();
        var state = assembler.publish(docs, new MeshOrigin(kind(), location(), versions));
        reports.accept(new ReloadReport(
                errors.isEmpty() ? ReloadReport.Outcome.APPLIED : ReloadReport.Outcome.PARTIAL,
                state.version(),
                docs.size(),
                errors,
                ""));
        log.debug("kubernetes source: version {}, {} resources", state.version(), docs.size());
    }

    private void startWatches() throws KubeApiException, InterruptedException {
        // the reachability probe: /version is readable by every authenticated client
        JsonNode version = get("/version").json();
        // discovery (which RBAC grants every authenticated client): Kubernetes 1.21+ serves discovery.k8s.io/v1
        boolean sliceV1 = serves("discovery.k8s.io/v1", "endpointslices");
        log.info(
                "kubernetes source: API server {} (Kubernetes {}.{}), EndpointSlices {}",
                location(),
                version.path("major").asString("?"),
                version.path("minor").asString("?"),
                sliceV1 ? "discovery.k8s.io/v1" : "discovery.k8s.io/v1beta1");
        core.add(watch(CoreKinds.NAMESPACE));
        core.add(watch(CoreKinds.POD));
        core.add(watch(CoreKinds.SERVICE));
        core.add(watch(CoreKinds.endpointSlices(sliceV1 ? "v1" : "v1beta1")));
        CrdHandler handler = new CrdHandler(this);
        crds = handler;
        KindWatch w = new KindWatch(client, CoreKinds.CRD, handler, reporter());
        crdWatch = w;
        w.start();
    }

    /** Whether the group version's discovery document lists the resource; a group version not served is not. */
    private boolean serves(String groupVersion, String resource) throws KubeApiException, InterruptedException {
        KubeResponse r = await("/apis/" + groupVersion);
        if (r.status() == 404) {
            return false;
        }
        if (!r.ok()) {
            throw r.failure();
        }
        for (JsonNode res : r.json().path("resources")) {
            if (resource.equals(res.path("name").asString(""))) {
                return true;
            }
        }
        return false;
    }

    private KubeResponse get(String path) throws KubeApiException, InterruptedException {
        KubeResponse r = await(path);
        if (!r.ok()) {
            throw r.failure();
        }
        return r;
    }

    private KubeResponse await(String path) throws KubeApiException, InterruptedException {
        try {
            return client.send(HttpMethod.GET, path, null, null, 1 << 20, PROBE_TIMEOUT)
                    .get(PROBE_TIMEOUT.toMillis() + 1_000, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw KubeHttp.unreachable(e.getCause());
        } catch (TimeoutException e) {
            throw new KubeApiException(0, "no answer to GET " + path + " within " + PROBE_TIMEOUT.toSeconds() + " s");
        }
    }

    /** Starts (or restarts at another version) the watch of a custom kind whose CRD is established. */
    void informCustom(CustomKind k, String version) {
        if (custom.containsKey(k.crdName())) {
            if (version.equals(customVersions.get(k.crdName()))) {
                return; // an update of the CRD that changes nothing Ferry reads
            }
            stopCustom(k);
        }
        KindWatch w = watch(new ApiKind(k.group(), version, k.kind(), k.plural(), true));
        customVersions.put(k.crdName(), version);
        custom.put(k.crdName(), w);
        log.info("kubernetes source: reading {} {}/{}", k.kind(), k.group(), version);
    }

    /** The CRD was deleted (or stopped serving a version Ferry reads): its resources leave the state. */
    void stopCustom(CustomKind k) {
        KindWatch w = custom.remove(k.crdName());
        customVersions.remove(k.crdName());
        if (w != null) {
            w.stop();
            store.removeKind(k.kind());
            log.info("kubernetes source: no longer reading {}", k.kind());
        }
    }

    private KindWatch watch(ApiKind kind) {
        KindWatch w = new KindWatch(client, kind, new DocumentHandler(kind.kind(), parser, store), reporter());
        w.start(); // the list and the watch run on the client's loop; sync is polled, not awaited
        return w;
    }

    private KindWatch.Reporter reporter() {
        return new KindWatch.Reporter() {
            @Override
            public void failed(String kind, KubeApiException e) {
                String why = e.describe();
                String before = failures.put(kind, why);
                if (!why.equals(before)) {
                    log.warn("kubernetes source: {}: {}", kind, why);
                }
            }

            @Override
            public void recovered(String kind) {
                if (failures.remove(kind) != null) {
                    log.info("kubernetes source: {}: watching again", kind);
                }
            }
        };
    }

    private void stopWatches() {
        for (KindWatch w : watched()) {
            w.stop();
        }
        core.clear();
        custom.clear();
        KindWatch c = crdWatch;
        if (c != null) {
            c.stop();
        }
        crdWatch = null;
        crds = null;
    }

    @Override
    public void close() {
        closed = true;
        Thread t = thread;
        if (t != null) {
            t.interrupt();
            try {
                t.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        stopWatches();
        client.close();
    }
}
