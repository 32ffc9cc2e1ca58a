package dev.ferry.mesh.kube;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshOrigin;
import dev.ferry.mesh.source.DocumentError;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.mesh.source.MeshDocumentParser;
import dev.ferry.mesh.source.MeshSource;
import dev.ferry.mesh.source.ReloadReport;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.Informable;
import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.fabric8.kubernetes.client.informers.cache.ReducedStateItemStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kubernetes API as the mesh source: informers for every kind a node needs, their events converted by the same
 * converters as the mesh file, and one publisher thread that hands the whole document set to the {@link
 * MeshAssembler} — after the initial lists of every kind are in (readiness waits until then), and then once per
 * burst of changes.
 *
 * <p>A node watches the whole cluster's Pods, Services and EndpointSlices, not only its own: an outbound connection
 * may go to any pod, and the agent must know that pod's identity, whether it is captured, and which Service fronts
 * it. The informers keep only keys and resource versions ({@link ReducedStateItemStore}); what the mesh keeps of a
 * resource is its converted form, a fraction of the object (no managedFields, no status it does not read).
 *
 * <p>Failure stance: unreachable at start, the source retries with backoff and readiness names the API server; once
 * synced, a lost watch keeps the last good state while fabric8 reconnects (and relists on {@code 410 Gone}); an RBAC
 * refusal is reported once, naming the resource and verb the API server refused. Nothing here runs on an event loop.
 */
public final class KubernetesSource implements MeshSource {
    private static final Logger log = LoggerFactory.getLogger(KubernetesSource.class);
    private static final Duration TICK = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    private final KubernetesClient client;
    private final MeshAssembler assembler;
    private final Consumer<ReloadReport> reports;
    private final Heartbeat heartbeat;
    private final Duration debounce;
    private final MeshDocumentParser parser = new MeshDocumentParser();
    private final AtomicBoolean dirty = new AtomicBoolean();
    private final LinkedBlockingQueue<Boolean> wake = new LinkedBlockingQueue<>(1);
    private final DocumentStore store = new DocumentStore(this::changed);
    private final List<Watched> core = new CopyOnWriteArrayList<>();
    /** Informers of the custom kinds whose CRDs are installed, by CRD name. */
    private final Map<String, Watched> custom = new ConcurrentHashMap<>();
    /** The version each custom kind is read at, by CRD name. */
    private final Map<String, String> customVersions = new ConcurrentHashMap<>();
    /** Why each informer last failed, by kind; cleared when it watches again. */
    private final Map<String, String> failures = new ConcurrentHashMap<>();

    private volatile CrdHandler crds;
    private volatile SharedIndexInformer<?> crdInformer;
    private volatile boolean started;
    private volatile boolean synced;
    private volatile String startProblem = "not connected yet";
    private volatile boolean closed;
    private volatile Thread thread;

    /** One kind's informer and the handler that feeds the store. */
    record Watched(String kind, SharedIndexInformer<?> informer, DocumentHandler<?> handler) {
        boolean caughtUp() {
            return informer.hasSynced() && handler.caughtUp(informer.getStore().listKeys());
        }
    }

    /**
     * @param client the API client, owned from here on (closed with the source)
     * @param debounce how long a burst of changes is gathered into one state (a rollout changes many pods at once)
     * @param heartbeat the publisher thread's liveness, beaten every second
     */
    public KubernetesSource(
            KubernetesClient client,
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
        return client.getMasterUrl().toString();
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
        for (Watched w : watched()) {
            if (!w.caughtUp()) {
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
        for (Watched w : watched()) {
            out.put(w.kind(), w.informer().isWatching());
        }
        return out;
    }

    private List<Watched> watched() {
        List<Watched> all = new ArrayList<>(core);
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
            try {
                if (!started) {
                    try {
                        startInformers();
                        started = true;
                    } catch (KubernetesClientException e) {
                        startProblem = describe(e);
                        log.warn("kubernetes source: {} (retrying in {} s)", startProblem, backoff.toSeconds());
                        stopInformers();
                        Thread.sleep(backoff.toMillis());
                        backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
                                ? MAX_BACKOFF
                                : backoff.multipliedBy(2);
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
        if (c == null || !c.caughtUp(crdInformer)) {
            return false;
        }
        for (Watched w : watched()) {
            if (!w.caughtUp()) {
                return false;
            }
        }
        return custom.keySet().containsAll(c.wanted());
    }

    private void publish() {
        Map<String, String> versions = new LinkedHashMap<>();
        for (Watched w : watched()) {
            String v = w.informer().lastSyncResourceVersion();
            versions.put(w.kind(), v == null ? "" : v);
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

    private void startInformers() {
        var version = client.getKubernetesVersion(); // the reachability probe: throws when the server is not there
        // discovery (which RBAC grants every authenticated client): Kubernetes 1.21+ serves discovery.k8s.io/v1
        boolean sliceV1 = client.supports("discovery.k8s.io/v1", "EndpointSlice");
        log.info(
                "kubernetes source: API server {} (Kubernetes {}.{}), EndpointSlices {}",
                location(),
                version.getMajor(),
                version.getMinor(),
                sliceV1 ? "discovery.k8s.io/v1" : "discovery.k8s.io/v1beta1");
        // every kind as a generic resource (CoreKinds), read by the file's converters
        core.add(inform("Namespace", client.genericKubernetesResources(CoreKinds.NAMESPACE)));
        core.add(inform("Pod", client.genericKubernetesResources(CoreKinds.POD).inAnyNamespace()));
        core.add(inform(
                "Service", client.genericKubernetesResources(CoreKinds.SERVICE).inAnyNamespace()));
        core.add(inform(
                "EndpointSlice",
                client.genericKubernetesResources(CoreKinds.endpointSlices(sliceV1 ? "v1" : "v1beta1"))
                        .inAnyNamespace()));
        CrdHandler handler = new CrdHandler(this);
        var informer = client.genericKubernetesResources(CoreKinds.CRD)
                .runnableInformer(0)
                .itemStore(new ReducedStateItemStore<>(
                        ReducedStateItemStore.NAME_KEY_STATE,
                        GenericKubernetesResource.class,
                        client.getKubernetesSerialization()));
        informer.addEventHandler(handler).exceptionHandler((isStarted, t) -> failed("CustomResourceDefinition", t));
        crds = handler;
        crdInformer = informer;
        informer.start();
    }

    /** Starts (or restarts at another version) the informer of a custom kind whose CRD is established. */
    void informCustom(CustomKind k, String version) {
        if (custom.containsKey(k.crdName())) {
            if (version.equals(customVersions.get(k.crdName()))) {
                return; // an update of the CRD that changes nothing Ferry reads
            }
            stopCustom(k);
        }
        ResourceDefinitionContext ctx = new ResourceDefinitionContext.Builder()
                .withGroup(k.group())
                .withVersion(version)
                .withPlural(k.plural())
                .withKind(k.kind())
                .withNamespaced(true)
                .build();
        Watched w = inform(k.kind(), client.genericKubernetesResources(ctx).inAnyNamespace());
        customVersions.put(k.crdName(), version);
        custom.put(k.crdName(), w);
        log.info("kubernetes source: reading {} {}/{}", k.kind(), k.group(), version);
    }

    /** The CRD was deleted (or stopped serving a version Ferry reads): its resources leave the state. */
    void stopCustom(CustomKind k) {
        Watched w = custom.remove(k.crdName());
        customVersions.remove(k.crdName());
        if (w != null) {
            w.informer().stop();
            store.removeKind(k.kind());
            log.info("kubernetes source: no longer reading {}", k.kind());
        }
    }

    private Watched inform(String kind, Informable<GenericKubernetesResource> resources) {
        DocumentHandler<GenericKubernetesResource> handler = new DocumentHandler<>(kind, this::read, store);
        SharedIndexInformer<GenericKubernetesResource> informer = resources
                .runnableInformer(0)
                .itemStore(new ReducedStateItemStore<>(
                        ReducedStateItemStore.NAME_KEY_STATE,
                        GenericKubernetesResource.class,
                        client.getKubernetesSerialization()));
        informer.addEventHandler(handler);
        informer.exceptionHandler((isStarted, t) -> failed(kind, t));
        informer.start(); // the initial list and the watch run on fabric8's threads; sync is polled, not awaited
        return new Watched(kind, informer, handler);
    }

    /** fabric8's retry decision for a failed list or watch: always retry, after saying why once. */
    private boolean failed(String kind, Throwable t) {
        String why = describe(t);
        String before = failures.put(kind, why);
        if (!why.equals(before)) {
            log.warn("kubernetes source: {}: {}", kind, why);
        }
        return true;
    }

    /** Every kind, core or custom, read from its tree by the file's converters (no JSON text in between). */
    private MeshDocumentParser.Result read(GenericKubernetesResource r) {
        return parser.resource(
                origin(r), client.getKubernetesSerialization().convertValue(r, tools.jackson.databind.JsonNode.class));
    }

    private static String origin(GenericKubernetesResource r) {
        String ns = r.getMetadata().getNamespace();
        return "kubernetes:" + r.getKind() + " " + (ns == null ? "" : ns + "/")
                + r.getMetadata().getName();
    }

    /** What went wrong, in words an operator can act on: the API server's own refusal names resource and verb. */
    static String describe(Throwable t) {
        Throwable c = t;
        while (c instanceof java.util.concurrent.CompletionException && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof KubernetesClientException k) {
            if (k.getCode() == 403) {
                String msg = k.getStatus() != null && k.getStatus().getMessage() != null
                        ? k.getStatus().getMessage()
                        : k.getMessage();
                return "forbidden by RBAC: " + msg
                        + " (the ClusterRole ferry-agent in deploy/daemonset.yaml grants get, list and watch on it)";
            }
            if (k.getCode() == 401) {
                return "unauthorized: the API server rejected the credentials (token expired or wrong)";
            }
            if (k.getCode() <= 0) { // no HTTP answer at all
                Throwable root = k;
                while (root.getCause() != null && root.getCause() != root) {
                    root = root.getCause();
                }
                return "unreachable: " + root;
            }
            return "HTTP " + k.getCode() + ": " + k.getMessage();
        }
        return c.toString();
    }

    private void stopInformers() {
        for (Watched w : watched()) {
            w.informer().stop();
        }
        core.clear();
        custom.clear();
        SharedIndexInformer<?> c = crdInformer;
        if (c != null) {
            c.stop();
        }
        crdInformer = null;
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
        stopInformers();
        client.close();
    }
}
