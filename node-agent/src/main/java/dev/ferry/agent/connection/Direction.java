package dev.ferry.agent.connection;

/** Which capture listener accepted a connection; decides the {@code reporter} label and destination rules. */
public enum Direction {
    OUTBOUND("source"),
    INBOUND("destination");

    private final String reporter;

    Direction(String reporter) {
        this.reporter = reporter;
    }

    /** Istio's {@code reporter} label value. */
    public String reporter() {
        return reporter;
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
