package dev.ferry.agent.connection;

/** Told when a connection has fully ended (both sockets closed): the access log hangs here. */
@FunctionalInterface
public interface ConnectionObserver {
    void closed(ConnectionRecord record);
}
