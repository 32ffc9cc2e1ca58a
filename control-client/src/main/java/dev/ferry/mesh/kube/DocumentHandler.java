package dev.ferry.mesh.kube;

import dev.ferry.mesh.source.DocumentKey;
import dev.ferry.mesh.source.MeshDocumentParser;
import tools.jackson.databind.JsonNode;

/**
 * One kind's objects, converted from their tree by the mesh file's converters on the API client's loop (never a
 * data-plane loop) and put in the source's store.
 */
final class DocumentHandler implements WatchHandler {
    private final String kind;
    private final MeshDocumentParser parser;
    private final DocumentStore store;

    /** @param kind the kind as the documents name it ({@code Pod}, {@code HTTPRoute}) */
    DocumentHandler(String kind, MeshDocumentParser parser, DocumentStore store) {
        this.kind = kind;
        this.parser = parser;
        this.store = store;
    }

    @Override
    public void put(String namespace, String name, JsonNode object) {
        String origin = "kubernetes:" + kind + " " + (namespace.isEmpty() ? "" : namespace + "/") + name;
        store.accept(key(namespace, name), parser.resource(origin, object));
    }

    @Override
    public void remove(String namespace, String name) {
        store.remove(key(namespace, name));
    }

    private DocumentKey key(String namespace, String name) {
        return new DocumentKey(kind, "Namespace".equals(kind) ? "" : namespace.isEmpty() ? "default" : namespace, name);
    }
}
