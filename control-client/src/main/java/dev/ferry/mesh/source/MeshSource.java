package dev.ferry.mesh.source;

import java.io.IOException;

/**
 * Where the mesh state comes from: the mesh file (the binary's default, and the simulation's) or the Kubernetes API
 * (the DaemonSet's). A source reads its input, converts it with the same {@link MeshDocumentParser} converters, and
 * hands whole document sets to the one {@link MeshAssembler}; it never publishes a state itself.
 */
public interface MeshSource extends AutoCloseable {
    /** {@code file} or {@code kubernetes}, as the {@code meshSource} config key names it. */
    String kind();

    /** What it reads, for logs and readiness: the file's path, the API server's URL. */
    String location();

    /**
     * Begins reading; returns without waiting for a first state when that needs the network (readiness waits
     * instead, with {@link #staleReason()} naming what is missing).
     */
    void start() throws IOException;

    /** Empty while the state in force reflects the input as far as the source can tell; else why not, for readiness. */
    String staleReason();

    /**
     * Whether each input is being followed now (the Kubernetes source: each kind's watch), for a gauge: once synced,
     * an outage keeps the last good state and readiness green, and this is where it shows. Empty when not applicable.
     */
    default java.util.Map<String, Boolean> watching() {
        return java.util.Map.of();
    }

    @Override
    void close() throws IOException;
}
