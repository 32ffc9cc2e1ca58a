package dev.ferry.mesh.source;

/** A file that is not YAML at all: the whole last good snapshot is kept. */
public final class NotYamlException extends Exception {
    private static final long serialVersionUID = 1L;

    public NotYamlException(String message, Throwable cause) {
        super(message, cause);
    }
}
