package dev.ferry.mesh.source;

/** A document that parsed as YAML but is not a valid resource; the message names the field. */
public final class InvalidDocumentException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidDocumentException(String message) {
        super(message);
    }

    public InvalidDocumentException(String message, Throwable cause) {
        super(message, cause);
    }
}
