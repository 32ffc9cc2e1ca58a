package dev.ferry.agent.capture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The captured pods, persisted in the state dir ({@code pods.json}) so a restarted agent can re-attach to running
 * pods before it reports ready. Written atomically after every change; a file that cannot be read is reported and
 * treated as empty (pods then wait for their next CNI CHECK/ADD rather than being captured from bad data).
 */
final class PodRegistryFile {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** One captured pod: its key, the runtime's UID, the runtime's netns path and the pod's checked IPs. */
    record Entry(String key, String uid, String netns, List<String> ips) {
        Entry {
            ips = List.copyOf(ips);
        }
    }

    private final Path file;

    PodRegistryFile(Path stateDir) {
        this.file = stateDir.resolve("pods.json");
    }

    Path path() {
        return file;
    }

    List<Entry> read() throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        try {
            List<Entry> out = new ArrayList<>();
            for (JsonNode n : JSON.readTree(Files.readString(file))) {
                List<String> ips = new ArrayList<>();
                n.path("ips").forEach(ip -> ips.add(ip.asString()));
                out.add(new Entry(
                        n.path("key").asString(),
                        n.path("uid").asString(""),
                        n.path("netns").asString(),
                        ips));
            }
            return out;
        } catch (JacksonException e) {
            throw new IOException(file + " is not a pod registry: " + e.getOriginalMessage(), e);
        }
    }

    void write(List<Entry> entries) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling("pods.json.tmp");
        Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(entries));
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
