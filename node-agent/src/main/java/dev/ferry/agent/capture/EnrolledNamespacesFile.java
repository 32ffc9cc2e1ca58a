package dev.ferry.agent.capture;

import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Namespace;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.TreeSet;

/**
 * Keeps the file the CNI plugin reads (one enrolled namespace per line) in step with the mesh snapshot. Written
 * atomically (temp file + rename), so the plugin never reads half a list; lives in a directory that survives
 * reboots, so right after one enrolled pods already wait for the agent.
 */
public final class EnrolledNamespacesFile {
    private final Path file;
    private String written = "";

    public EnrolledNamespacesFile(Path file) {
        this.file = file;
    }

    /** Rewrites the file when the set of enrolled namespaces changed; called by the snapshot's single writer. */
    public synchronized void update(MeshSnapshot snapshot) throws IOException {
        TreeSet<String> names = new TreeSet<>();
        for (Namespace ns : snapshot.namespaces().values()) {
            if (ns.enrolled()) {
                names.add(ns.name());
            }
        }
        String text = names.isEmpty() ? "" : String.join("\n", names) + "\n";
        if (text.equals(written) && Files.exists(file)) {
            return;
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        written = text;
    }
}
