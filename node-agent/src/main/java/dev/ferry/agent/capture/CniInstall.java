package dev.ferry.agent.capture;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.cni.install.ConflistInstaller;
import dev.ferry.cni.install.ConflistWatcher;
import dev.ferry.cni.install.PluginBinary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Ferry's place in the node's CNI config, built from the node config so the plugin and the agent agree on the
 * socket, the enrolled-namespaces file and the exclusions. {@code ferry-agent install-cni} (a DaemonSet init
 * container) copies the plugin and installs the config once; the running agent then keeps it in place.
 */
public final class CniInstall {
    /** How often the watcher re-checks even without a change event (missed events, overlay filesystems). */
    private static final Duration POLL = Duration.ofSeconds(5);

    private CniInstall() {}

    /** Ferry's plugin entry, as the plugin reads it (see cni-plugin/native/ferry-cni.c). */
    public static ObjectNode ferryEntry(NodeConfig config) {
        ObjectNode entry = JsonMapper.builder().build().createObjectNode();
        entry.put("type", ConflistInstaller.TYPE);
        entry.put("agentSocket", config.podEventSocket());
        if (!config.enrolledNamespacesFile().isEmpty()) {
            entry.put("enrolledNamespacesFile", config.enrolledNamespacesFile());
        }
        var excluded = entry.putArray("excludedNamespaces");
        config.cniExcludedNamespaces().forEach(excluded::add);
        entry.put("unplacedPods", config.cniUnplacedPods().name().toLowerCase(java.util.Locale.ROOT));
        return entry;
    }

    private static ConflistInstaller installer(NodeConfig config) {
        return new ConflistInstaller(Path.of(config.cniConfDir()), ferryEntry(config));
    }

    /** One-shot install: the plugin binary into {@code binDir}, then Ferry into the CNI config. */
    public static void install(NodeConfig config, Path pluginBinary, Path binDir) throws IOException {
        requireConfDir(config);
        PluginBinary.install(pluginBinary, binDir);
        installer(config).ensure(config.cniMode());
    }

    /** Removes Ferry from the CNI config first (no pod may then call a missing binary), then the binary. */
    public static void uninstall(NodeConfig config, Path binDir) throws IOException {
        requireConfDir(config);
        installer(config).uninstall();
        Files.deleteIfExists(binDir.resolve(PluginBinary.NAME));
    }

    /** Installs now, then keeps Ferry in the config until closed (files stay: a restart must not un-chain). */
    public static ConflistWatcher watch(NodeConfig config, Runnable beat) throws IOException {
        requireConfDir(config);
        return ConflistWatcher.start(installer(config), config.cniMode(), Path.of(config.cniConfDir()), POLL, beat);
    }

    private static void requireConfDir(NodeConfig config) throws IOException {
        if (config.cniConfDir().isEmpty()) {
            throw new IOException("cniConfDir is not set in the node config");
        }
    }
}
