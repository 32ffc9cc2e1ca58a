package dev.ferry.mesh;

import java.util.Map;
import java.util.Objects;

/** A Kubernetes namespace as the mesh sees it: its name and labels (mesh enrollment is a label). */
public record Namespace(String name, Map<String, String> labels) {
    /** The label that enrolls a namespace (value {@code enabled}) or opts a pod out (value {@code disabled}). */
    public static final String MESH_LABEL = "ferry.dev/mesh";

    public Namespace {
        Objects.requireNonNull(name, "name");
        labels = Map.copyOf(labels);
    }

    public boolean enrolled() {
        return "enabled".equals(labels.get(MESH_LABEL));
    }
}
