package dev.ferry.agent.connector;

import dev.ferry.agent.connection.CloseReason;

/** Why a stream could not be opened, already mapped to the connection's close reason by its connector. */
public final class ConnectFailure extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient CloseReason reason;

    public ConnectFailure(CloseReason reason, String message) {
        super(message, null, false, false); // a routine outcome: no stack trace to fill per failed connect
        this.reason = reason;
    }

    public CloseReason reason() {
        return reason;
    }

    /** The reason of {@code cause} if a connector said it, else a refused connect. */
    public static CloseReason reasonOf(Throwable cause) {
        return cause instanceof ConnectFailure f ? f.reason() : CloseReason.CONNECT_REFUSED;
    }
}
