package dev.ferry.mesh.kube;

import tools.jackson.databind.JsonNode;

/** What a {@link KindWatch} tells of its kind's objects, on the API client's loop (never a data-plane loop). */
interface WatchHandler {
    /** An object added or changed (or seen in a list): the whole object, {@code kind} and {@code apiVersion} set. */
    void put(String namespace, String name, JsonNode object);

    /** An object deleted, or gone from a relist. */
    void remove(String namespace, String name);
}
