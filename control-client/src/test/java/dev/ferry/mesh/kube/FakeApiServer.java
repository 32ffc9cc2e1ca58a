package dev.ferry.mesh.kube;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * A <b>fake</b> Kubernetes API server (the JDK's HTTP server): lists (paged), watches (streamed lines), discovery
 * documents. It stands in for the real one only where that cannot serve what a test needs: {@code
 * discovery.k8s.io/v1} (the API server built here is 1.20), and bytes no real server sends (a watch event that is not
 * JSON, one over the size limit, an {@code ERROR} event on demand). Everything else is tested against the real
 * kube-apiserver ({@link KubeApiServer}).
 */
final class FakeApiServer implements AutoCloseable {
    private static final JsonMapper JSON = JsonMapper.shared();

    private final HttpServer http;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-api");
        t.setDaemon(true);
        return t;
    });
    /** Objects by collection path, then by namespace/name. */
    private final Map<String, Map<String, ObjectNode>> collections = new HashMap<>();

    private final Map<String, JsonNode> documents = new HashMap<>();
    private final List<Watcher> watchers = new CopyOnWriteArrayList<>();
    private final Map<String, Object[]> overrides = new java.util.concurrent.ConcurrentHashMap<>();
    /** Every request's path and query, in order. */
    final List<String> requests = new CopyOnWriteArrayList<>();

    private long version = 100;

    private record Watcher(String collection, BlockingQueue<String> lines) {}

    private static final String END = "\u0000end";

    FakeApiServer() throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.setExecutor(threads);
        http.createContext("/", this::serve);
        http.start();
        document("/version", "{\"major\":\"1\",\"minor\":\"31\"}");
        for (String c : List.of(
                "/api/v1/namespaces",
                "/api/v1/pods",
                "/api/v1/services",
                "/apis/discovery.k8s.io/v1/endpointslices",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")) {
            collections.put(c, new LinkedHashMap<>());
        }
        document(
                "/apis/discovery.k8s.io/v1",
                "{\"kind\":\"APIResourceList\",\"groupVersion\":\"discovery.k8s.io/v1\","
                        + "\"resources\":[{\"name\":\"endpointslices\",\"kind\":\"EndpointSlice\",\"namespaced\":true}]}");
    }

    String url() {
        return "http://127.0.0.1:" + http.getAddress().getPort();
    }

    void document(String path, String json) {
        synchronized (this) {
            documents.put(path, JSON.readTree(json));
        }
    }

    /** Creates or replaces an object given as YAML, in the collection its kind lives in; watchers hear of it. */
    synchronized void put(String collection, String yaml) {
        ObjectNode o = (ObjectNode) new YAMLMapper().readTree(yaml);
        ObjectNode meta = (ObjectNode) o.path("metadata");
        meta.put("resourceVersion", Long.toString(++version));
        String key =
                meta.path("namespace").asString("") + "/" + meta.path("name").asString("");
        boolean added = collections.get(collection).put(key, o) == null;
        send(collection, event(added ? "ADDED" : "MODIFIED", o));
    }

    synchronized void delete(String collection, String namespace, String name) {
        ObjectNode o = collections.get(collection).remove(namespace + "/" + name);
        ((ObjectNode) o.path("metadata")).put("resourceVersion", Long.toString(++version));
        send(collection, event("DELETED", o));
    }

    /** Deletes without telling the watches: as if the event was lost in a compaction (only a relist shows it). */
    synchronized void forget(String collection, String namespace, String name) {
        collections.get(collection).remove(namespace + "/" + name);
        ++version;
    }

    /** Answers every request for the path (a watch included) with this status and body until cleared (null). */
    void override(String path, int status, String body) {
        if (body == null) {
            overrides.remove(path);
        } else {
            overrides.put(path, new Object[] {status, body});
        }
    }

    /** A line as it is, to every watch of the collection (bad input). */
    void send(String collection, String line) {
        for (Watcher w : watchers) {
            if (w.collection().equals(collection)) {
                w.lines().add(line);
            }
        }
    }

    /** Ends every open watch of the collection, as the server does at a watch's timeout. */
    void endWatches(String collection) {
        send(collection, END);
    }

    int watchers(String collection) {
        return (int)
                watchers.stream().filter(w -> w.collection().equals(collection)).count();
    }

    private static String event(String type, ObjectNode o) {
        return "{\"type\":\"" + type + "\",\"object\":" + o + "}";
    }

    private void serve(HttpExchange ex) throws IOException {
        URI uri = ex.getRequestURI();
        requests.add(uri.getPath() + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery()));
        Map<String, String> query = query(uri.getRawQuery());
        String path = uri.getPath();
        try (ex) {
            Object[] o = overrides.get(path);
            if (o != null) {
                byte[] b = ((String) o[1]).getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders((Integer) o[0], b.length);
                ex.getResponseBody().write(b);
                return;
            }
            Watcher watcher = null;
            byte[] body;
            synchronized (this) {
                Map<String, ObjectNode> c = collections.get(path);
                if (c != null && "true".equals(query.get("watch"))) {
                    watcher = new Watcher(path, new LinkedBlockingQueue<>());
                    watchers.add(watcher);
                    body = null;
                } else if (c != null) {
                    body = list(c, query).getBytes(StandardCharsets.UTF_8);
                } else if (documents.containsKey(path)) {
                    body = documents.get(path).toString().getBytes(StandardCharsets.UTF_8);
                } else {
                    byte[] notFound = ("{\"kind\":\"Status\",\"code\":404,\"message\":\"the server could not find "
                                    + path + "\"}")
                            .getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(404, notFound.length);
                    ex.getResponseBody().write(notFound);
                    return;
                }
            }
            if (watcher == null) {
                ex.sendResponseHeaders(200, body.length);
                ex.getResponseBody().write(body);
                return;
            }
            stream(ex, watcher);
        }
    }

    private void stream(HttpExchange ex, Watcher watcher) throws IOException {
        ex.sendResponseHeaders(200, 0); // chunked, for as long as the watch lasts
        OutputStream out = ex.getResponseBody();
        out.flush();
        try {
            while (true) {
                String line = watcher.lines().poll(100, TimeUnit.MILLISECONDS);
                if (line == null) {
                    continue;
                }
                if (line.equals(END)) {
                    return;
                }
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away
        } finally {
            watchers.remove(watcher);
        }
    }

    private String list(Map<String, ObjectNode> c, Map<String, String> query) {
        List<ObjectNode> all = new ArrayList<>(c.values());
        int from = Integer.parseInt(query.getOrDefault("continue", "0"));
        int limit = Integer.parseInt(query.getOrDefault("limit", "1000000"));
        int to = Math.min(all.size(), from + limit);
        StringBuilder items = new StringBuilder();
        for (int i = from; i < to; i++) {
            ObjectNode item = all.get(i).deepCopy();
            item.remove("kind"); // as a real list: the items carry neither
            item.remove("apiVersion");
            items.append(i == from ? "" : ",").append(item);
        }
        return "{\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"" + version + "\""
                + (to < all.size() ? ",\"continue\":\"" + to + "\"" : "") + "},\"items\":[" + items + "]}";
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw != null) {
            for (String p : raw.split("&")) {
                int eq = p.indexOf('=');
                if (eq > 0) {
                    q.put(p.substring(0, eq), URLDecoder.decode(p.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return q;
    }

    @Override
    public void close() {
        for (Watcher w : watchers) {
            w.lines().add(END);
        }
        http.stop(0);
        threads.shutdownNow();
    }
}
