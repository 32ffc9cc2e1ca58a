package dev.ferry.mesh.kube;

import dev.ferry.mesh.source.DocumentKey;
import dev.ferry.mesh.source.MeshDocumentParser;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * One kind's informer events, converted on the informer's own handler thread (never an event loop) and put in the
 * source's store. Keeps the keys it has seen, so the source can tell when the initial list has reached the store
 * and not only the informer's cache (fabric8 hands events to handlers asynchronously).
 */
final class DocumentHandler<T extends HasMetadata> implements ResourceEventHandler<T> {
    private final String kind;
    private final Function<T, MeshDocumentParser.Result> convert;
    private final DocumentStore store;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();

    /** @param kind the kind as the documents name it ({@code Pod}, {@code HTTPRoute}) */
    DocumentHandler(String kind, Function<T, MeshDocumentParser.Result> convert, DocumentStore store) {
        this.kind = kind;
        this.convert = convert;
        this.store = store;
    }

    @Override
    public void onAdd(T obj) {
        apply(obj);
    }

    @Override
    public void onUpdate(T oldObj, T newObj) {
        apply(newObj);
    }

    @Override
    public void onDelete(T obj, boolean deletedFinalStateUnknown) {
        seen.remove(informerKey(obj));
        store.remove(key(obj));
    }

    private void apply(T obj) {
        store.accept(key(obj), convert.apply(obj));
        seen.add(informerKey(obj));
    }

    /** Whether every key the informer's cache holds has been through this handler. */
    boolean caughtUp(java.util.List<String> informerKeys) {
        return seen.containsAll(informerKeys);
    }

    private DocumentKey key(T obj) {
        String ns = obj.getMetadata().getNamespace();
        return new DocumentKey(
                kind,
                "Namespace".equals(kind) ? "" : ns == null ? "default" : ns,
                obj.getMetadata().getName());
    }

    /** fabric8's cache key: {@code namespace/name}, or {@code name} for a cluster-scoped resource. */
    private static String informerKey(HasMetadata obj) {
        String ns = obj.getMetadata().getNamespace();
        return ns == null || ns.isEmpty()
                ? obj.getMetadata().getName()
                : ns + "/" + obj.getMetadata().getName();
    }
}
