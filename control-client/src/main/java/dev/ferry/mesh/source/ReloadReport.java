package dev.ferry.mesh.source;

import java.util.List;

/**
 * The outcome of one reload, for logs and the {@code ferry_mesh_reloads_total{outcome}} counter.
 *
 * @param version the snapshot version now in force (unchanged when nothing was applied)
 * @param errors rejected documents (their last good versions, if any, were kept)
 */
public record ReloadReport(Outcome outcome, long version, int documents, List<DocumentError> errors, String detail) {
    public enum Outcome {
        /** Every document applied. */
        APPLIED,
        /** Applied, but some documents were rejected and skipped (their last good versions kept). */
        PARTIAL,
        /** Nothing applied: a file was unreadable or not YAML; the whole last good snapshot stays. */
        REJECTED,
        /** The files did not change since the last reload. */
        UNCHANGED;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public ReloadReport {
        errors = List.copyOf(errors);
    }
}
