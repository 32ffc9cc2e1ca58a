package dev.ferry.mesh.kube;

/**
 * The bearer token sent with every request. {@link #value()} is called on the client's event loop and must not block;
 * a token kept in a file is re-read by {@link #refresh()}, which the source's own thread calls once a tick (so a
 * rotated service-account token is used within a second, and no file is read on an event loop).
 */
public interface BearerToken {
    BearerToken NONE = of("");

    /** The token to send now; empty for none. Never blocks. */
    String value();

    /** Re-reads the token where it lives, if it can change; called off the event loop. */
    default void refresh() {}

    static BearerToken of(String token) {
        return () -> token;
    }
}
