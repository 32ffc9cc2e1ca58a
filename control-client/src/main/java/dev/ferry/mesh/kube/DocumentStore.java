package dev.ferry.mesh.kube;

import dev.ferry.mesh.source.DocumentError;
import dev.ferry.mesh.source.DocumentKey;
import dev.ferry.mesh.source.MeshDocumentParser;
import dev.ferry.mesh.source.ParsedDocument;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the Kubernetes source currently holds: the last good converted form of every resource, and the resources
 * whose current version was rejected. Written by the informers' handler threads (one per kind), read by the
 * publisher; a rejected update keeps the resource's last good version in force, exactly as the file source does.
 */
final class DocumentStore {
    private static final Logger log = LoggerFactory.getLogger(DocumentStore.class);

    private final Map<DocumentKey, ParsedDocument> good = new ConcurrentHashMap<>();
    private final Map<DocumentKey, DocumentError> rejected = new ConcurrentHashMap<>();
    private final Runnable changed;

    DocumentStore(Runnable changed) {
        this.changed = changed;
    }

    /** A resource added or updated, as the parser converted it: one document, or the error that rejected it. */
    void accept(DocumentKey key, MeshDocumentParser.Result r) {
        if (!r.documents().isEmpty()) {
            ParsedDocument d = r.documents().getFirst();
            good.put(key, d);
            if (rejected.remove(key) != null) {
                log.info("kubernetes source: {} valid again", key);
            }
            d.problems().forEach(p -> log.warn("kubernetes source: {}: {}", key, p));
        } else if (!r.errors().isEmpty()) {
            DocumentError e = r.errors().getFirst();
            DocumentError before = rejected.put(key, e);
            if (before == null || !before.message().equals(e.message())) { // logged once per distinct error
                log.warn(
                        "kubernetes source: {} rejected, {}: {}",
                        key,
                        good.containsKey(key) ? "its last good version stays in force" : "not used",
                        e.message());
            }
        }
        changed.run();
    }

    void remove(DocumentKey key) {
        boolean had = good.remove(key) != null;
        had |= rejected.remove(key) != null;
        if (had) {
            changed.run();
        }
    }

    /** Every resource of one kind: its CRD was deleted (the API server deletes the resources with it). */
    void removeKind(String kind) {
        boolean had = good.keySet().removeIf(k -> k.kind().equals(kind));
        had |= rejected.keySet().removeIf(k -> k.kind().equals(kind));
        if (had) {
            changed.run();
        }
    }

    List<ParsedDocument> documents() {
        return List.copyOf(good.values());
    }

    List<DocumentError> errors() {
        List<DocumentError> out = new ArrayList<>(rejected.values());
        out.sort(Comparator.comparing(e -> e.key().toString()));
        return out;
    }

    int size() {
        return good.size();
    }
}
