package dev.ferry.mesh.source;

import dev.ferry.health.Heartbeat;
import dev.ferry.mesh.MeshOrigin;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.authz.PolicyEngine;
import dev.ferry.time.Ticker;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchService;
import java.nio.file.attribute.BasicFileAttributes;
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
public final class MeshFileSource implements MeshSource {
    private static final Logger log = LoggerFactory.getLogger(MeshFileSource.class);

    /** Reports errors in file order: {@code name#N...} sorted by name, then by document number. */
    private static final Comparator<DocumentError> DOCUMENT_ORDER = Comparator.comparing((DocumentError e) ->
                    e.origin().substring(0, Math.max(0, e.origin().lastIndexOf('#'))))
            .thenComparingInt(e -> documentNumber(e.origin()))
            .thenComparing(DocumentError::origin);

    private final Path path;
    private final MeshAssembler assembler;
    private final Consumer<ReloadReport> reports;
    private final MeshBudget budget;
    private final Heartbeat heartbeat;
    private final MeshDocumentParser parser = new MeshDocumentParser();

    private Map<DocumentKey, ParsedDocument> lastGood = Map.of();
    /** What the files were at the last reload, applied or not: the same input is never parsed (or logged) twice. */
    private String lastSeen = "";

    private long version;
    private volatile ReloadReport last;
    private volatile WatchService watcher;
    private volatile Thread watchThread;
    /** Poll between inotify events; set before {@link #start()}. */
    private Duration poll = Duration.ofSeconds(2);

    public MeshFileSource(Path path, Consumer<MeshSnapshot> snapshots, Consumer<ReloadReport> reports) {
        this(path, snapshots, reports, MeshBudget.forThisHeap(), new Heartbeat("mesh-file-watch", Ticker.system()));
    }

    public MeshFileSource(
            Path path,
            Consumer<MeshSnapshot> snapshots,
            Consumer<ReloadReport> reports,
            MeshBudget budget,
            Heartbeat heartbeat) {
        this(path, new MeshAssembler(PolicyEngine.DEFAULT_ROOT_NAMESPACE, snapshots), reports, budget, heartbeat);
    }

    /** @param assembler the mesh state's single writer, which this source feeds */
    public MeshFileSource(
            Path path,
            MeshAssembler assembler,
            Consumer<ReloadReport> reports,
            MeshBudget budget,
            Heartbeat heartbeat) {
        this.path = path;
        this.assembler = assembler;
        this.reports = reports;
        this.budget = budget;
        this.heartbeat = heartbeat;
    }

    @Override
    public String kind() {
        return "file";
    }

    @Override
    public String location() {
        return path.toString();
    }

    public MeshFileSource pollEvery(Duration every) {
        this.poll = every;
        return this;
    }

    /** Reads the files once (a first state, or a rejection readiness reports), then watches them. */
    @Override
    public void start() throws IOException {
        reload();
        startWatching(poll);
    }

    /** The watcher's liveness, for the agent's watchdog. */
    public Heartbeat heartbeat() {
        return heartbeat;
    }

    /**
     * Empty while the files in force are the files on disk; otherwise why the last reload was not applied (the last
     * good state is being served). Readiness reports it.
     */
    @Override
    public String staleReason() {
        ReloadReport r = last;
        return r == null || r.outcome() != ReloadReport.Outcome.REJECTED
                ? ""
                : "mesh files rejected, serving version " + r.version() + ": " + r.detail();
    }

    /** Reads the files now and publishes a snapshot if they changed. */
    public synchronized ReloadReport reload() {
        ReloadReport report;
        try {
            report = doReload();
        } catch (RuntimeException e) {
            // A defect of ours, not of the input: reported, and the watcher lives on with the last good state.
            log.error("mesh reload failed", e);
            heartbeat.failed(e);
            report = new ReloadReport(ReloadReport.Outcome.REJECTED, version, lastGood.size(), List.of(), e.toString());
        }
        if (report.outcome() != ReloadReport.Outcome.UNCHANGED) {
            last = report;
        }
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
        List<Path> files;
        long total;
        String signature;
        try {
            files = files();
            total = 0;
            StringBuilder sig = new StringBuilder();
            for (Path f : files) {
                BasicFileAttributes a = regularFile(f);
                total += a.size();
                sig.append(f.getFileName())
                        .append('\0')
                        .append(a.size())
                        .append('\0')
                        .append(a.lastModifiedTime())
                        .append('\0');
            }
            signature = sig.toString();
        } catch (IOException | RuntimeException e) {
            return rejected("stat:" + e, e.toString());
        }
        if (total > budget.maxBytes()) {
            // Not read at all: reading it is what would exhaust the heap.
            return rejected(
                    "size:" + signature,
                    "mesh files are " + total + " bytes, over the budget of " + budget.describe()
                            + "; raise -Xmx or trim the files");
        }
        Map<String, byte[]> contents;
        try {
            contents = readAll(files);
        } catch (IOException | RuntimeException e) {
            return rejected("read:" + signature + e, e.toString());
        }
        String digest = digest(contents);
        if (digest.equals(lastSeen)) {
            return new ReloadReport(ReloadReport.Outcome.UNCHANGED, version, lastGood.size(), List.of(), "");
        }
        List<ParsedDocument> parsed = new ArrayList<>();
        List<DocumentError> errors = new ArrayList<>();
        boolean emptyList = false;
        for (Map.Entry<String, byte[]> file : contents.entrySet()) {
            try {
                MeshDocumentParser.Result r = parser.parse(file.getKey(), file.getValue());
                parsed.addAll(r.documents());
                errors.addAll(r.errors());
                emptyList |= r.emptyList();
            } catch (NotYamlException e) {
                return rejected(digest, e.getMessage());
            }
        }
        contents = null; // the bytes are not needed past parsing: let a large file go before building the snapshot

        Map<DocumentKey, ParsedDocument> next = new LinkedHashMap<>();
        for (ParsedDocument doc : parsed) {
            if (!doc.problems().isEmpty()) {
                // Kept, not skipped: an invalid policy fails closed (see AuthorizationPolicy), it never falls back.
                errors.add(new DocumentError(doc.origin(), doc.key(), String.join("; ", doc.problems())));
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
        if (next.isEmpty() && !lastGood.isEmpty() && !emptyList) {
            // Something to nothing: an empty or half-written file, an emptied directory, only unknown kinds. Far more
            // likely a fault than an intent, and applying it would drop every Service and certificate at once.
            return rejected(
                    digest,
                    "the mesh files now hold no usable document (" + contents(files, errors)
                            + "); keeping the last good state. To empty the mesh on purpose, write an empty v1 List"
                            + " (apiVersion: v1, kind: List, items: [])");
        }

        errors.sort(DOCUMENT_ORDER);
        // if the consumer fails, nothing is taken as applied and the next poll retries
        version = assembler
                .publish(next.values(), new MeshOrigin("file", path.toString(), Map.of("sha256", digest)))
                .version();
        lastGood = Map.copyOf(next);
        lastSeen = digest;
        return new ReloadReport(
                errors.isEmpty() ? ReloadReport.Outcome.APPLIED : ReloadReport.Outcome.PARTIAL,
                version,
                next.size(),
                errors,
                "");
    }

    private static String contents(List<Path> files, List<DocumentError> errors) {
        if (files.isEmpty()) {
            return "no *.yaml, *.yml or *.json file in " + "the directory";
        }
        return errors.isEmpty() ? "no document" : errors.size() + " rejected document(s), e.g. " + errors.getFirst();
    }

    /**
     * A rejected input, remembered by {@code seen} so that the same files are not re-read, re-parsed and re-logged
     * on every poll (a large bad file would cost seconds of parsing per cycle): the next report is UNCHANGED.
     */
    private ReloadReport rejected(String seen, String detail) {
        if (seen.equals(lastSeen) && last != null && last.outcome() == ReloadReport.Outcome.REJECTED) {
            return new ReloadReport(ReloadReport.Outcome.UNCHANGED, version, lastGood.size(), List.of(), detail);
        }
        lastSeen = seen;
        return new ReloadReport(ReloadReport.Outcome.REJECTED, version, lastGood.size(), List.of(), detail);
    }

    private static int documentNumber(String origin) {
        int hash = origin.lastIndexOf('#');
        int end = hash + 1;
        while (end < origin.length() && Character.isDigit(origin.charAt(end))) {
            end++;
        }
        return end > hash + 1 ? Integer.parseInt(origin.substring(hash + 1, end)) : 0;
    }

    /** The files to read: the path itself, or the visible mesh files of the directory it names. */
    private List<Path> files() throws IOException {
        if (!Files.isDirectory(path)) {
            return List.of(path);
        }
        try (Stream<Path> list = Files.list(path)) {
            // Hidden entries are the ConfigMap mount's ..data / ..timestamp dirs; the visible names link into them.
            return list.filter(p -> !p.getFileName().toString().startsWith("."))
                    .filter(p -> {
                        String n = p.getFileName().toString();
                        return n.endsWith(".yaml") || n.endsWith(".yml") || n.endsWith(".json");
                    })
                    .sorted()
                    .toList();
        }
    }

    /**
     * Its attributes, if it is a regular file (links followed). Anything else is refused before it is opened: a FIFO
     * would block the watcher in open(2) until some writer appeared, a device could be read forever.
     */
    private static BasicFileAttributes regularFile(Path f) throws IOException {
        BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
        if (!a.isRegularFile()) {
            throw new IOException(f + " is not a regular file ("
                    + (a.isDirectory() ? "a directory" : "a FIFO, socket" + " or device") + ")");
        }
        return a;
    }

    private Map<String, byte[]> readAll(List<Path> files) throws IOException {
        Map<String, byte[]> contents = new LinkedHashMap<>();
        long total = 0;
        for (Path f : files) {
            regularFile(f); // again, just before reading: the file may have been swapped since it was measured
            byte[] bytes;
            try (InputStream in = Files.newInputStream(f)) {
                // Bounded read: the file may have grown since it was measured.
                bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, budget.maxBytes() - total + 1));
            }
            total += bytes.length;
            if (total > budget.maxBytes()) {
                throw new IOException("mesh files grew over the budget of " + budget.describe() + " while read");
            }
            contents.put(f.getFileName().toString(), bytes);
        }
        return contents;
    }

    private static String digest(Map<String, byte[]> contents) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            contents.forEach((name, bytes) -> {
                md.update(name.getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(bytes);
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
                heartbeat.beat();
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
