package dev.ferry.agent.connection;

/** Told when a connection has fully ended (both sockets closed), and of each HTTP request: the access log hangs here. */
@FunctionalInterface
public interface ConnectionObserver {
    void closed(ConnectionRecord record);

    /** An HTTP request on {@code connection} has finished. */
    default void request(ConnectionRecord connection, RequestRecord request) {}

    /** Whether {@link #request} does anything: when not, the HTTP layer builds no record per request. */
    default boolean wantsRequests() {
        return false;
    }
}
