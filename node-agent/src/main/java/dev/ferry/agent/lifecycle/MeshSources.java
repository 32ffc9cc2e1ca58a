package dev.ferry.agent.lifecycle;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.health.Watchdog;
import dev.ferry.mesh.kube.KubeClientConfig;
import dev.ferry.mesh.kube.KubeHttp;
import dev.ferry.mesh.kube.KubernetesSource;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.mesh.source.MeshBudget;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.MeshSource;
import dev.ferry.mesh.source.ReloadReport;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Consumer;

/** Builds the configured mesh source, its worker watched by the agent's watchdog. */
final class MeshSources {
    /** A publish, plus the slowest build of a large state on a loaded node (the file: a budget-sized reload). */
    static final Duration PUBLISH_ALLOWANCE = Duration.ofSeconds(60);

    /** How long the Kubernetes source gathers a burst of changes into one state (a rollout changes many at once). */
    static final Duration KUBERNETES_DEBOUNCE = Duration.ofMillis(20);

    /** The API client's loop beats every second; a conversion of a large list page runs on it. */
    static final Duration KUBE_API_ALLOWANCE = Duration.ofSeconds(30);

    private MeshSources() {}

    /**
     * @param client the API client when the source is the Kubernetes API (the pod marker shares it), else null
     */
    record Opened(MeshSource source, KubeHttp client) {}

    static Opened open(NodeConfig config, MeshAssembler assembler, Consumer<ReloadReport> reports, Watchdog watchdog)
            throws IOException {
        return switch (config.meshSource()) {
            case FILE ->
                new Opened(
                        new MeshFileSource(
                                        config.meshFile(),
                                        assembler,
                                        reports,
                                        MeshBudget.forThisHeap(),
                                        watchdog.watch(
                                                "mesh-file-watch",
                                                config.meshPollInterval().plus(PUBLISH_ALLOWANCE)))
                                .pollEvery(config.meshPollInterval()),
                        null);
            case KUBERNETES -> {
                KubeHttp client = new KubeHttp(
                        KubeClientConfig.select(config.kubeconfig()), watchdog.watch("kube-api", KUBE_API_ALLOWANCE));
                yield new Opened(
                        new KubernetesSource(
                                client,
                                assembler,
                                reports,
                                KUBERNETES_DEBOUNCE,
                                watchdog.watch(
                                        "mesh-kubernetes", Duration.ofSeconds(1).plus(PUBLISH_ALLOWANCE))),
                        client);
            }
        };
    }
}
