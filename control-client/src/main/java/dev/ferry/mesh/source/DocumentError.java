package dev.ferry.mesh.source;

/**
 * One rejected document: where it came from ({@code file#index}), what it claims to be (may be null when even that
 * could not be read) and why it was rejected, naming the field.
 */
public record DocumentError(String origin, DocumentKey key, String message) {
    @Override
    public String toString() {
        return origin + (key == null ? "" : " (" + key + ")") + ": " + message;
    }
}
