package dev.ferry.mesh.source;

/**
 * How many bytes of mesh files one reload may read, derived from the heap the JVM may use. Parsing costs memory in
 * proportion to the input (each document's tree while it is bound, then the bound documents kept as the last good
 * state, twice over while a reload replaces them), so a file too large for the heap is refused with a clear error
 * before it is read — the alternative is an {@code OutOfMemoryError} that kills the watcher, or the agent.
 */
public record MeshBudget(long maxBytes, long heapBytes) {
    /** Never more than this, whatever the heap: ~100k pods of {@code kubectl get pods -o yaml}. */
    public static final long HARD_LIMIT_BYTES = 64L << 20;

    /**
     * Heap bytes a reload needs per byte of YAML at its peak, measured (bench: 100k kubectl-shaped pods, 33 MB):
     * the file's bytes, the previous and the new last-good documents (slimmed) and the new snapshot's model.
     */
    static final int HEAP_PER_FILE_BYTE = 6;

    /** The share of the heap a reload may take; the data path needs the rest. */
    static final double HEAP_SHARE = 0.5;

    public MeshBudget {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("maxBytes must be positive");
        }
    }

    /** The budget for this JVM's heap ({@code -Xmx}). */
    public static MeshBudget forThisHeap() {
        return forHeap(Runtime.getRuntime().maxMemory());
    }

    public static MeshBudget forHeap(long maxHeapBytes) {
        long fromHeap = (long) (maxHeapBytes * HEAP_SHARE / HEAP_PER_FILE_BYTE);
        return new MeshBudget(Math.max(1, Math.min(HARD_LIMIT_BYTES, fromHeap)), maxHeapBytes);
    }

    String describe() {
        return maxBytes + " bytes (" + (maxBytes >> 20) + " MiB: " + HEAP_PER_FILE_BYTE + " heap bytes per file byte, "
                + (int) (HEAP_SHARE * 100) + "% of the " + (heapBytes >> 20)
                + " MiB heap, at most " + (HARD_LIMIT_BYTES >> 20) + " MiB)";
    }
}
