package dev.ferry.mesh.kube;

import dev.ferry.time.Backoff;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.handler.codec.http.HttpMethod;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * One kind kept in step with the API server, as client-go's reflector does: a paged list, then a watch from the
 * list's resource version (with bookmarks, so a quiet kind's version stays fresh), the watch resumed where it ended
 * when the server closes it, and a fresh list when the server says the version is too old ({@code 410 Gone}) — a
 * relist removes what vanished meanwhile and passes on only what changed. Failures are reported and retried with
 * backoff (1 s doubling to 30 s). All of its state is confined to the API client's loop; what others read is
 * volatile.
 */
final class KindWatch {
    private static final Logger log = LoggerFactory.getLogger(KindWatch.class);
    private static final JsonMapper JSON = JsonMapper.shared();

    /** Objects per list page at first; halved while a page is over the page limit (objects that large). */
    static final int PAGE = 500;

    static final int MAX_PAGE_BYTES = 16 * 1024 * 1024;
    static final int MAX_EVENT_BYTES = 4 * 1024 * 1024;
    static final Duration LIST_TIMEOUT = Duration.ofSeconds(60);

    /** The server ends each watch after this long (a fresh one starts at once); silence beyond it is a hang. */
    static final Duration WATCH_TIMEOUT = Duration.ofMinutes(5);

    static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

    /** How a watch's trouble reaches its owner: once per distinct cause, and when it is over. */
    interface Reporter {
        void failed(String kind, KubeApiException e);

        void recovered(String kind);
    }

    private final KubeHttp http;
    private final ApiKind kind;
    private final WatchHandler handler;
    private final Reporter reporter;

    /** Resource version of each object passed on, by {@code namespace/name}: a relist's difference is made from it. */
    private Map<String, String> versions = new HashMap<>();

    private final int maxPageBytes;
    private WatchStream stream;
    private int pageSize;
    private Duration backoff = FIRST_BACKOFF;
    private boolean stopped;

    private volatile boolean synced;
    private volatile boolean watching;
    private volatile String resourceVersion = "";

    KindWatch(KubeHttp http, ApiKind kind, WatchHandler handler, Reporter reporter) {
        this(http, kind, handler, reporter, PAGE, MAX_PAGE_BYTES);
    }

    /** With another page size and page limit (the tests: paging and halving without megabytes of objects). */
    KindWatch(KubeHttp http, ApiKind kind, WatchHandler handler, Reporter reporter, int pageSize, int maxPageBytes) {
        this.http = http;
        this.kind = kind;
        this.handler = handler;
        this.reporter = reporter;
        this.pageSize = pageSize;
        this.maxPageBytes = maxPageBytes;
    }

    String kind() {
        return kind.kind();
    }

    /** True from the first complete list on: every object of the kind has been passed on at least once. */
    boolean synced() {
        return synced;
    }

    /** True while a watch stream is open. */
    boolean watching() {
        return watching;
    }

    String resourceVersion() {
        return resourceVersion;
    }

    void start() {
        http.loop().execute(() -> list(null, new HashMap<>()));
    }

    /**
     * Stops for good: no further request, no further callback to the handler. Any thread; on the client's loop (a
     * CRD deleted) at once, so that nothing of the kind reaches the handler after this returns.
     */
    void stop() {
        if (http.loop().inEventLoop()) {
            stopped = true;
            closeStream();
        } else {
            http.loop().execute(this::stop);
        }
    }

    private void list(String continueToken, Map<String, String> seen) {
        if (stopped) {
            return;
        }
        String path = kind.collection() + "?limit=" + pageSize
                + (continueToken == null
                        ? ""
                        : "&continue=" + URLEncoder.encode(continueToken, StandardCharsets.UTF_8));
        http.send(HttpMethod.GET, path, null, null, maxPageBytes, LIST_TIMEOUT)
                .whenCompleteAsync((r, e) -> listed(r, e, continueToken, seen), http.loop());
    }

    private void listed(KubeResponse r, Throwable e, String continueToken, Map<String, String> seen) {
        if (stopped) {
            return;
        }
        try {
            if (e != null) {
                throw KubeHttp.unreachable(e instanceof java.util.concurrent.CompletionException c ? c.getCause() : e);
            }
            if (r.status() == 410 && continueToken != null) {
                log.info("kubernetes source: {} list expired while paging, listing again", kind.kind());
                list(null, new HashMap<>());
                return;
            }
            if (!r.ok()) {
                throw r.failure();
            }
            JsonNode page = r.json();
            for (JsonNode item : page.path("items")) {
                if (item instanceof ObjectNode o) {
                    o.put("kind", kind.kind()); // a list's items carry neither: the list says them once
                    o.put("apiVersion", kind.apiVersion());
                    String key = key(o);
                    String version = meta(o, "resourceVersion");
                    seen.put(key, version);
                    if (!version.equals(versions.get(key))) {
                        pass(o, key, version);
                    }
                }
            }
            String next = page.path("metadata").path("continue").asString("");
            if (!next.isEmpty()) {
                list(next, seen);
                return;
            }
            for (String key : versions.keySet()) {
                if (!seen.containsKey(key)) {
                    int slash = key.indexOf('/');
                    handler.remove(key.substring(0, slash), key.substring(slash + 1));
                }
            }
            versions = seen;
            resourceVersion = page.path("metadata").path("resourceVersion").asString("");
            synced = true;
            watch();
        } catch (KubeApiException k) {
            if (k.isTooLarge() && pageSize > 1) {
                pageSize = Math.max(1, pageSize / 2); // objects this large: fewer per page, from the start again
                list(null, new HashMap<>());
                return;
            }
            retry(k, () -> list(null, new HashMap<>()));
        }
    }

    private void watch() {
        if (stopped) {
            return;
        }
        String path = kind.collection() + "?watch=true&allowWatchBookmarks=true&timeoutSeconds="
                + WATCH_TIMEOUT.toSeconds() + "&resourceVersion="
                + URLEncoder.encode(resourceVersion, StandardCharsets.UTF_8);
        stream = http.watch(path, WATCH_TIMEOUT.plusSeconds(30), MAX_EVENT_BYTES, new Events());
    }

    /** The watch stream's callbacks, on the loop. */
    private final class Events implements WatchStream.Listener {
        @Override
        public void opened() {
            watching = true;
            backoff = FIRST_BACKOFF;
            reporter.recovered(kind.kind());
        }

        @Override
        public void line(ByteBuf line) {
            if (!stopped) {
                event(this, line);
            }
        }

        @Override
        public void ended() {
            watching = false;
            watch(); // the server's timeout: resume from the last version seen
        }

        @Override
        public void failed(KubeApiException e) {
            watching = false;
            if (e.code() == 410) {
                relist("watch too old (410 Gone)");
            } else {
                retry(e, KindWatch.this::watch); // resumes from the last version; too old by then → 410 → relist
            }
        }
    }

    private void event(Events events, ByteBuf line) {
        JsonNode event;
        try (var in = new ByteBufInputStream(line)) {
            event = JSON.readTree(in);
        } catch (JacksonException | IOException e) {
            broken(events, "a watch event that is not JSON (" + e.getMessage() + ")");
            return;
        }
        String type = event.path("type").asString("");
        JsonNode object = event.path("object");
        if (!(object instanceof ObjectNode o)) {
            broken(events, "a watch event without an object");
            return;
        }
        switch (type) {
            case "ADDED", "MODIFIED" -> {
                String key = key(o);
                String version = meta(o, "resourceVersion");
                versions.put(key, version);
                resourceVersion = version;
                pass(o, key, version);
            }
            case "DELETED" -> {
                String key = key(o);
                versions.remove(key);
                resourceVersion = meta(o, "resourceVersion");
                handler.remove(meta(o, "namespace"), meta(o, "name"));
            }
            case "BOOKMARK" -> resourceVersion = meta(o, "resourceVersion");
            case "ERROR" -> {
                int code = o.path("code").asInt(0);
                closeStream();
                if (code == 410) {
                    relist("watch too old (410 Gone)");
                } else {
                    retry(new KubeApiException(code, o.path("message").asString("a watch error")), this::relist);
                }
            }
            default -> broken(events, "a watch event of unknown type '" + type + "'");
        }
    }

    /** A stream that says something a watch does not: dropped, and the kind listed afresh after a pause. */
    private void broken(Events events, String what) {
        closeStream();
        watching = false;
        retry(new KubeApiException(KubeApiException.BAD_ANSWER, what), this::relist);
    }

    private void relist() {
        closeStream();
        list(null, new HashMap<>());
    }

    private void relist(String why) {
        log.info("kubernetes source: {} {}, listing again", kind.kind(), why);
        relist();
    }

    private void closeStream() {
        watching = false;
        if (stream != null) {
            stream.close();
            stream = null;
        }
    }

    private void pass(ObjectNode o, String key, String version) {
        try {
            handler.put(meta(o, "namespace"), meta(o, "name"), o);
        } catch (RuntimeException e) {
            // a defect of ours in a converter: the object is skipped, not the watch
            log.error("kubernetes source: {} {} at {} not applied", kind.kind(), key, version, e);
        }
    }

    private void retry(KubeApiException e, Runnable again) {
        if (stopped) {
            return;
        }
        reporter.failed(kind.kind(), e);
        Duration wait = backoff;
        backoff = Backoff.next(backoff, MAX_BACKOFF);
        http.loop().schedule(again, wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static String key(JsonNode o) {
        return meta(o, "namespace") + "/" + meta(o, "name");
    }

    private static String meta(JsonNode o, String field) {
        return o.path("metadata").path(field).asString("");
    }
}
