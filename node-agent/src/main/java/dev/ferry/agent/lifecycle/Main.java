package dev.ferry.agent.lifecycle;

import dev.ferry.agent.capture.CniInstall;
import dev.ferry.agent.config.ConfigException;
import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.config.NodeConfigLoader;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.ReloadReport;
import dev.ferry.time.Ticker;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import sun.misc.Signal;

/** {@code ferry-agent run --config F} and {@code ferry-agent validate MESHFILE}. */
@Command(
        name = "ferry-agent",
        mixinStandardHelpOptions = true,
        version = "ferry-agent 0.1.0",
        description = "Ferry node agent: the sidecarless mesh proxy of one node.",
        subcommands = {
            Main.Run.class,
            Main.Validate.class,
            Main.InstallCni.class,
            Main.UninstallCni.class,
            CommandLine.HelpCommand.class
        })
public final class Main {
    private static final Logger log = LoggerFactory.getLogger(Main.class);

    public static void main(String[] args) {
        // A thread that dies of an Error is a broken agent: for OutOfMemoryError, exit so the kubelet restarts the
        // pod (-XX:+ExitOnOutOfMemoryError does this too, for every thread; this covers a launch without it).
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> {
            log.error("thread {} died", t.getName(), e);
            if (e instanceof OutOfMemoryError) {
                Runtime.getRuntime().halt(3);
            }
        });
        int code = new CommandLine(new Main()).execute(args);
        if (code != 0) {
            System.exit(code);
        }
    }

    @Command(
            mixinStandardHelpOptions = true,
            name = "run",
            description = "Run the agent until SIGTERM (drains) or POST /quitquitquit.")
    static final class Run implements Callable<Integer> {
        @Option(names = "--config", description = "node config YAML (every key also has a FERRY_* env override)")
        Path config;

        @Override
        public Integer call() throws Exception {
            NodeConfig cfg;
            try {
                cfg = NodeConfigLoader.load(config, System.getenv());
            } catch (ConfigException e) {
                log.error("ferry-agent: bad configuration: {}", e.getMessage());
                return 2;
            }
            JvmFlags.warnIfUnsafe();
            CountDownLatch stop = new CountDownLatch(1);
            AtomicReference<Agent> agentRef = new AtomicReference<>();
            Runnable drain = () -> {
                Agent a = agentRef.get();
                try {
                    if (a != null) {
                        a.drainAndStop(cfg.drainTimeout());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } finally {
                    stop.countDown();
                }
            };
            Agent agent = new Agent(cfg, Ticker.system(), null, drain);
            agentRef.set(agent);
            // Handle SIGTERM ourselves: a JVM shutdown hook would exit 143, and the kubelet expects a drained exit 0.
            Signal.handle(
                    new Signal("TERM"),
                    sig -> Thread.ofPlatform().name("ferry-sigterm").start(drain));
            Signal.handle(
                    new Signal("INT"),
                    sig -> Thread.ofPlatform().name("ferry-sigint").start(drain));
            try {
                agent.start();
            } catch (java.io.IOException | IllegalStateException e) {
                log.error("ferry-agent: cannot start: {}", e.getMessage());
                return 1;
            }
            stop.await();
            log.info("ferry-agent stopped");
            return 0;
        }
    }

    /** Loads the node config for the CNI commands; null (reported) when it is bad. */
    private static NodeConfig cniConfig(Path config) {
        try {
            return NodeConfigLoader.load(config, System.getenv());
        } catch (ConfigException e) {
            log.error("ferry-agent: bad configuration: {}", e.getMessage());
            return null;
        }
    }

    @Command(
            mixinStandardHelpOptions = true,
            name = "install-cni",
            description = "Copy the CNI plugin into the node's CNI bin dir and put Ferry in the node's CNI config"
                    + " (cniConfDir, cniMode), once: a DaemonSet init container. The agent keeps it in place.")
    static final class InstallCni implements Callable<Integer> {
        @Option(names = "--config", description = "node config YAML (the same file the agent runs with)")
        Path config;

        @Option(names = "--plugin-binary", required = true, description = "the ferry-cni executable to install")
        Path pluginBinary;

        @Option(names = "--cni-bin-dir", required = true, description = "the node's CNI bin dir (a hostPath)")
        Path binDir;

        @Override
        public Integer call() {
            NodeConfig cfg = cniConfig(config);
            if (cfg == null) {
                return 2;
            }
            try {
                CniInstall.install(cfg, pluginBinary, binDir);
            } catch (java.io.IOException | RuntimeException e) {
                log.error("ferry-agent: cannot install the CNI plugin: {}", e.getMessage());
                return 1;
            }
            log.info(
                    "installed {} into {} and Ferry into {} ({} mode)",
                    pluginBinary,
                    binDir,
                    cfg.cniConfDir(),
                    cfg.cniMode());
            return 0;
        }
    }

    @Command(
            mixinStandardHelpOptions = true,
            name = "uninstall-cni",
            description = "Take Ferry out of the node's CNI config, then remove the plugin (run when removing Ferry"
                    + " from a node, never on a restart: pods created meanwhile would start uncaptured).")
    static final class UninstallCni implements Callable<Integer> {
        @Option(names = "--config", description = "node config YAML")
        Path config;

        @Option(names = "--cni-bin-dir", required = true, description = "the node's CNI bin dir")
        Path binDir;

        @Override
        public Integer call() {
            NodeConfig cfg = cniConfig(config);
            if (cfg == null) {
                return 2;
            }
            try {
                CniInstall.uninstall(cfg, binDir);
            } catch (java.io.IOException | RuntimeException e) {
                log.error("ferry-agent: cannot uninstall the CNI plugin: {}", e.getMessage());
                return 1;
            }
            log.info("removed Ferry from {} and {}", cfg.cniConfDir(), binDir);
            return 0;
        }
    }

    @Command(
            mixinStandardHelpOptions = true,
            name = "validate",
            description = "Check a mesh file (or directory) and report every rejected document.")
    static final class Validate implements Callable<Integer> {
        @Parameters(paramLabel = "MESHFILE")
        Path meshFile;

        @Override
        public Integer call() throws Exception {
            AtomicReference<ReloadReport> report = new AtomicReference<>();
            try (MeshFileSource source = new MeshFileSource(meshFile, s -> {}, report::set)) {
                source.reload();
            }
            ReloadReport r = report.get();
            // Each rejected document was already logged by the source, naming the document and the field.
            switch (r.outcome()) {
                case APPLIED -> log.info("ok: {} documents", r.documents());
                case PARTIAL ->
                    log.error("{} document(s) rejected, {} valid", r.errors().size(), r.documents());
                case REJECTED -> log.error("error: {}", r.detail());
                case UNCHANGED -> log.info("ok");
            }
            return r.outcome() == ReloadReport.Outcome.APPLIED ? 0 : 1;
        }
    }
}
