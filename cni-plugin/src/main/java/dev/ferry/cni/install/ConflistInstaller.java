package dev.ferry.cni.install;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Puts Ferry last in the node's CNI chain. Two modes:
 *
 * <ul>
 *   <li>{@link #chain}: append Ferry to the primary CNI's own conflist (a {@code .conf} becomes a
 *       {@code .conflist}); call it again whenever the primary rewrites its file.
 *   <li>{@link #own}: write Ferry's own conflist that sorts first ({@code 00-ferry.conflist}: the primary's plugins
 *       followed by Ferry). A primary CNI that rewrites its file after a reboot, before Ferry's agent is back, then
 *       cannot drop Ferry from the chain: enrolled pods wait for the agent instead of starting uncaptured.
 * </ul>
 *
 * Every write is atomic (temp file + rename in the same directory), so the runtime never reads half a file.
 */
public final class ConflistInstaller {
    public static final String TYPE = "ferry-cni";
    public static final String OWNED_NAME = "00-ferry.conflist";
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path confDir;
    private final ObjectNode ferryEntry;

    /** @param ferryEntry Ferry's plugin entry ({@code type} is set to {@value #TYPE}) */
    public ConflistInstaller(Path confDir, ObjectNode ferryEntry) {
        this.confDir = confDir;
        this.ferryEntry = ferryEntry.deepCopy().put("type", TYPE);
    }

    /** Where Ferry goes in the node's CNI config (see the class comment). */
    public enum Mode {
        CHAIN,
        OWN
    }

    /**
     * Makes sure Ferry is in place in {@code mode}, writing only when it is not (a watcher calls this after every
     * change in the directory, including its own writes).
     *
     * @return true when a file was written
     */
    public boolean ensure(Mode mode) throws IOException {
        Path primary = requirePrimary();
        if (mode == Mode.CHAIN) {
            if (primary.getFileName().toString().endsWith(".conflist") && chainedLast(primary)) {
                return false;
            }
            chain();
            return true;
        }
        Path owned = confDir.resolve(OWNED_NAME);
        if (Files.exists(owned) && read(owned).equals(withFerryLast(primary))) {
            return false;
        }
        own();
        return true;
    }

    /** The primary network config: the first by name, not Ferry's own file. */
    public Optional<Path> primary() throws IOException {
        try (Stream<Path> files = Files.list(confDir)) {
            return files.filter(p -> {
                        String n = p.getFileName().toString();
                        return !n.equals(OWNED_NAME)
                                && !n.startsWith(".")
                                && (n.endsWith(".conflist") || n.endsWith(".conf") || n.endsWith(".json"));
                    })
                    .sorted()
                    .findFirst();
        }
    }

    /** Appends Ferry to the primary conflist (idempotent); returns the file now holding the chain. */
    public Path chain() throws IOException {
        Path primary = requirePrimary();
        ObjectNode list = withFerryLast(primary);
        Path target = primary.getFileName().toString().endsWith(".conflist")
                ? primary
                : primary.resolveSibling(stripExtension(primary.getFileName().toString()) + ".conflist");
        write(target, list);
        if (!target.equals(primary)) {
            Files.delete(primary); // the .conf now lives on as a .conflist (the runtime would read both)
        }
        return target;
    }

    /** Writes {@value #OWNED_NAME}: the primary's plugins followed by Ferry, named to sort first. */
    public Path own() throws IOException {
        Path target = confDir.resolve(OWNED_NAME);
        write(target, withFerryLast(requirePrimary()));
        return target;
    }

    private Path requirePrimary() throws IOException {
        return primary().orElseThrow(() -> new IOException("no primary CNI config in " + confDir));
    }

    /** The primary's chain as a conflist, with any Ferry entry moved to the end (so re-running is idempotent). */
    private ObjectNode withFerryLast(Path primary) throws IOException {
        ObjectNode list = asConflist(read(primary));
        ArrayNode plugins = (ArrayNode) list.get("plugins");
        removeFerry(plugins);
        plugins.add(ferryEntry.deepCopy());
        return list;
    }

    /** Removes Ferry from the primary conflist and deletes Ferry's own file. */
    public void uninstall() throws IOException {
        Files.deleteIfExists(confDir.resolve(OWNED_NAME));
        Optional<Path> primary = primary();
        if (primary.isPresent()) {
            JsonNode doc = read(primary.get());
            if (doc.path("plugins").isArray()) {
                ObjectNode list = (ObjectNode) doc;
                if (removeFerry((ArrayNode) list.get("plugins"))) {
                    write(primary.get(), list);
                }
            }
        }
    }

    /** Whether the file's chain ends with Ferry (what a watcher re-checks after the primary rewrites it). */
    public static boolean chainedLast(Path conflist) throws IOException {
        JsonNode plugins = read(conflist).path("plugins");
        return plugins.isArray()
                && !plugins.isEmpty()
                && TYPE.equals(plugins.get(plugins.size() - 1).path("type").asString(""));
    }

    private static ObjectNode asConflist(JsonNode doc) throws IOException {
        if (!doc.isObject()) {
            throw new IOException("CNI config is not a JSON object");
        }
        if (doc.path("plugins").isArray()) {
            return (ObjectNode) doc.deepCopy();
        }
        // A single-plugin .conf: the conflist keeps its name and version, the plugin moves into "plugins".
        ObjectNode plugin = (ObjectNode) doc.deepCopy();
        ObjectNode list = JSON.createObjectNode();
        list.put("cniVersion", plugin.path("cniVersion").asString("1.0.0"));
        list.put("name", plugin.path("name").asString("k8s-pod-network"));
        plugin.remove(List.of("cniVersion", "name"));
        list.putArray("plugins").add(plugin);
        return list;
    }

    private static boolean removeFerry(ArrayNode plugins) {
        boolean removed = false;
        for (int i = plugins.size() - 1; i >= 0; i--) {
            if (TYPE.equals(plugins.get(i).path("type").asString(""))) {
                plugins.remove(i);
                removed = true;
            }
        }
        return removed;
    }

    private static JsonNode read(Path p) throws IOException {
        try {
            return JSON.readTree(Files.readString(p));
        } catch (JacksonException e) {
            throw new IOException(p + " is not JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static void write(Path target, JsonNode doc) throws IOException {
        Path tmp = target.resolveSibling("." + target.getFileName() + ".ferry-tmp");
        Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc) + "\n");
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static String stripExtension(String name) {
        int dot = name.lastIndexOf('.');
        return dot < 0 ? name : name.substring(0, dot);
    }
}
