package dev.ferry.agent.connector;

/**
 * Written to a stream that is not a socket to end its output (see {@link Streams#shutdownOutput}); the stream's
 * adapter consumes it. A singleton with no reference count: nothing to release.
 */
public final class EndOfStream {
    public static final EndOfStream INSTANCE = new EndOfStream();

    private EndOfStream() {}

    @Override
    public String toString() {
        return "EndOfStream";
    }
}
