package dev.ferry.mesh.source;

/** Identifies a document across reloads, so an invalid new version can fall back to its last good one. */
public record DocumentKey(String kind, String namespace, String name) {
    @Override
    public String toString() {
        return namespace.isEmpty() ? kind + " " + name : kind + " " + namespace + "/" + name;
    }
}
