package dev.ferry.mesh;

import java.util.Map;
import java.util.TreeMap;

/**
 * Where a mesh state came from: the source ({@code file} or {@code kubernetes}), what it read (the files, or the API
 * server), and the versions of its input — a file digest, or each resource kind's list resourceVersion — so that
 * {@code /config_dump} can say exactly which input the data path is serving.
 */
public record MeshOrigin(String source, String location, Map<String, String> versions) {
    public static final MeshOrigin NONE = new MeshOrigin("none", "", Map.of());

    public MeshOrigin {
        versions = java.util.Collections.unmodifiableMap(new TreeMap<>(versions));
    }
}
