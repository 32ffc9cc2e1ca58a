package dev.ferry.mesh.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Namespace;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthorizationPolicy;
import dev.ferry.mesh.authz.PeerAuthentication;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.Pod;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesh from a YAML file or a directory of them (a ConfigMap mount: files are symlinks through {@code ..data},
 * which the kubelet swaps atomically). Single writer: reloads are serialised and each publishes one immutable
 * snapshot to the consumer.
 */
public final class MeshFileSource implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MeshFileSource.class);
    /** A mesh file larger than this is refused rather than parsed; 64 MiB holds ~100k pods of kubectl output. */
    static final long MAX_FILE_BYTES = 64L << 20;

    /** Reports errors in file order: {@code name#N...} sorted by name, then by document number. */
    private static final Comparator<DocumentError> DOCUMENT_ORDER = Comparator.comparing((DocumentError e) ->
                    e.origin().substring(0, Math.max(0, e.origin().lastIndexOf('#'))))
            .thenComparingInt(e -> documentNumber(e.origin()))
            .thenComparing(DocumentError::origin);

    private final Path path;
    private final Consumer<MeshSnapshot> snapshots;
    private final Consumer<ReloadReport> reports;
    private final MeshDocumentParser parser = new MeshDocumentParser();

    private Map<DocumentKey, ParsedDocument> lastGood = Map.of();
    private String lastDigest = "";
    private long version;
    private volatile WatchService watcher;
    private volatile Thread watchThread;

    public MeshFileSource(Path path, Consumer<MeshSnapshot> snapshots, Consumer<ReloadReport> reports) {
        this.path = path;
        this.snapshots = snapshots;
        this.reports = reports;
    }

    /** Reads the files now and publishes a snapshot if they changed. */
    public synchronized ReloadReport reload() {
        ReloadReport report = doReload();
        switch (report.outcome()) {
            case APPLIED ->
                log.info("mesh reload applied: version {}, {} documents", report.version(), report.documents());
            case PARTIAL -> {
                log.warn(
                        "mesh reload applied with {} rejected document(s): version {}, {} documents",
                        report.errors().size(),
                        report.version(),
                        report.documents());
                report.errors().forEach(e -> log.warn("mesh document rejected: {}", e));
            }
            case REJECTED ->
                log.error("mesh reload rejected, keeping version {}: {}", report.version(), report.detail());
            case UNCHANGED -> log.debug("mesh files unchanged");
        }
        reports.accept(report);
        return report;
    }

    private ReloadReport doReload() {
        Map<String, String> texts;
        try {
            texts = readAll();
        } catch (IOException | RuntimeException e) {
            return new ReloadReport(ReloadReport.Outcome.REJECTED, version, lastGood.size(), List.of(), e.toString());
        }
        String digest = digest(texts);
        if (digest.equals(lastDigest)) {
            return new ReloadReport(ReloadReport.Outcome.UNCHANGED, version, lastGood.size(), List.of(), "");
        }
        List<ParsedDocument> parsed = new ArrayList<>();
        List<DocumentError> errors = new ArrayList<>();
        for (Map.Entry<String, String> file : texts.entrySet()) {
            try {
                MeshDocumentParser.Result r = parser.parse(file.getKey(), file.getValue());
                parsed.addAll(r.documents());
                errors.addAll(r.errors());
            } catch (NotYamlException e) {
                return new ReloadReport(
                        ReloadReport.Outcome.REJECTED, version, lastGood.size(), List.of(), e.getMessage());
            }
        }

        Map<DocumentKey, ParsedDocument> next = new LinkedHashMap<>();
        for (ParsedDocument doc : parsed) {
            try {
                validate(doc);
            } catch (InvalidDocumentException e) {
                errors.add(new DocumentError(doc.origin(), doc.key(), e.getMessage()));
                continue;
            }
            List<String> policyProblems = policyProblems(doc);
            if (!policyProblems.isEmpty()) {
                // Kept, not skipped: an invalid policy fails closed (see AuthorizationPolicy), it never falls back.
                errors.add(new DocumentError(doc.origin(), doc.key(), String.join("; ", policyProblems)));
            }
            ParsedDocument previous = next.putIfAbsent(doc.key(), doc);
            if (previous != null) {
                errors.add(
                        new DocumentError(doc.origin(), doc.key(), "duplicate of " + previous.origin() + "; ignored"));
            }
        }
        for (DocumentError e : errors) {
            // An invalid document keeps its last good version, so one bad edit does not delete a live pod.
            if (e.key() != null && !next.containsKey(e.key()) && lastGood.containsKey(e.key())) {
                next.put(e.key(), lastGood.get(e.key()));
            }
        }

        errors.sort(DOCUMENT_ORDER);
        MeshSnapshot snapshot = build(next, version + 1, errors);
        version++;
        lastGood = Map.copyOf(next);
        lastDigest = digest;
        snapshots.accept(snapshot);
        return new ReloadReport(
                errors.isEmpty() ? ReloadReport.Outcome.APPLIED : ReloadReport.Outcome.PARTIAL,
                version,
                next.size(),
                errors,
                "");
    }

    private static int documentNumber(String origin) {
        int hash = origin.lastIndexOf('#');
        int end = hash + 1;
        while (end < origin.length() && Character.isDigit(origin.charAt(end))) {
            end++;
        }
        return end > hash + 1 ? Integer.parseInt(origin.substring(hash + 1, end)) : 0;
    }

    private static void validate(ParsedDocument doc) throws InvalidDocumentException {
        switch (doc.resource()) {
            case Pod pod -> ModelConverter.workload(pod, Map.of());
            case io.fabric8.kubernetes.api.model.Service svc -> ModelConverter.service(svc);
            default -> {}
        }
    }

    private static final ObjectMapper TREES = JsonMapper.builder().build();

    private static List<String> policyProblems(ParsedDocument doc) {
        List<String> problems = new ArrayList<>();
        if (doc.resource() instanceof GenericKubernetesResource r) {
            if ("PeerAuthentication".equals(r.getKind())) {
                peerAuthentication(r, problems);
            } else {
                policy(r, problems);
            }
        }
        return problems;
    }

    private static PeerAuthentication peerAuthentication(GenericKubernetesResource r, List<String> problems) {
        JsonNode tree = TREES.valueToTree(r);
        String ns = r.getMetadata().getNamespace() == null
                ? "default"
                : r.getMetadata().getNamespace();
        return PeerAuthenticationConverter.convert(tree, ns, r.getMetadata().getName(), problems);
    }

    private static AuthorizationPolicy policy(GenericKubernetesResource r, List<String> problems) {
        JsonNode tree = TREES.valueToTree(r);
        String ns = r.getMetadata().getNamespace() == null
                ? "default"
                : r.getMetadata().getNamespace();
        return PolicyConverter.convert(tree, ns, r.getMetadata().getName(), problems);
    }

    private static MeshSnapshot build(Map<DocumentKey, ParsedDocument> docs, long version, List<DocumentError> errors) {
        Map<String, Namespace> namespaces = new LinkedHashMap<>();
        for (ParsedDocument d : docs.values()) {
            if (d.resource() instanceof io.fabric8.kubernetes.api.model.Namespace ns) {
                Namespace n = ModelConverter.namespace(ns);
                namespaces.put(n.name(), n);
            }
        }
        List<Workload> workloads = new ArrayList<>();
        List<Service> services = new ArrayList<>();
        List<AuthorizationPolicy> policies = new ArrayList<>();
        List<PeerAuthentication> peerAuthentications = new ArrayList<>();
        for (ParsedDocument d : docs.values()) {
            try {
                switch (d.resource()) {
                    case GenericKubernetesResource r
                    when "PeerAuthentication".equals(r.getKind()) ->
                        peerAuthentications.add(peerAuthentication(r, new ArrayList<>()));
                    case GenericKubernetesResource r -> policies.add(policy(r, new ArrayList<>()));
                    case Pod pod -> workloads.add(ModelConverter.workload(pod, namespaces));
                    case io.fabric8.kubernetes.api.model.Service svc -> services.add(ModelConverter.service(svc));
                    default -> {}
                }
            } catch (InvalidDocumentException e) {
                errors.add(new DocumentError(d.origin(), d.key(), e.getMessage())); // validated above: not expected
            }
        }
        return MeshSnapshot.of(version, namespaces, workloads, services, policies, peerAuthentications);
    }

    private Map<String, String> readAll() throws IOException {
        Map<String, String> texts = new LinkedHashMap<>();
        if (Files.isDirectory(path)) {
            List<Path> files;
            try (Stream<Path> list = Files.list(path)) {
                // Hidden entries are the ConfigMap mount's ..data / ..timestamp dirs; the visible names link into them.
                files = list.filter(p -> !p.getFileName().toString().startsWith("."))
                        .filter(p -> {
                            String n = p.getFileName().toString();
                            return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
                        })
                        .filter(Files::isRegularFile)
                        .sorted()
                        .toList();
            }
            for (Path f : files) {
                texts.put(f.getFileName().toString(), read(f));
            }
        } else {
            texts.put(path.getFileName().toString(), read(path));
        }
        return texts;
    }

    private static String read(Path f) throws IOException {
        long size = Files.size(f);
        if (size > MAX_FILE_BYTES) {
            throw new IOException(f + " is " + size + " bytes, over the " + MAX_FILE_BYTES + " byte limit");
        }
        return Files.readString(f, StandardCharsets.UTF_8);
    }

    private static String digest(Map<String, String> texts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            texts.forEach((name, text) -> {
                md.update(name.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(text.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            });
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Watches the file's directory (inotify) and also re-reads every {@code poll}, since inotify misses changes
     * behind some mounts; unchanged files cost one digest.
     */
    public void startWatching(Duration poll) throws IOException {
        Path dir = Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
        WatchService ws = FileSystems.getDefault().newWatchService();
        dir.register(
                ws,
                StandardWatchEventKinds.ENTRY_CREATE,
                StandardWatchEventKinds.ENTRY_MODIFY,
                StandardWatchEventKinds.ENTRY_DELETE);
        watcher = ws;
        Thread t = Thread.ofPlatform().daemon().name("mesh-file-watch").unstarted(() -> watchLoop(ws, poll));
        watchThread = t;
        t.start();
    }

    private void watchLoop(WatchService ws, Duration poll) {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                var key = ws.poll(poll.toMillis(), TimeUnit.MILLISECONDS);
                if (key != null) {
                    // Editors and the kubelet write in several steps; let them finish before reading.
                    Thread.sleep(50);
                    key.pollEvents();
                    key.reset();
                    var more = ws.poll();
                    while (more != null) {
                        more.pollEvents();
                        more.reset();
                        more = ws.poll();
                    }
                }
                reload();
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() throws IOException {
        Thread t = watchThread;
        if (t != null) {
            t.interrupt();
        }
        WatchService ws = watcher;
        if (ws != null) {
            ws.close();
        }
    }
}
