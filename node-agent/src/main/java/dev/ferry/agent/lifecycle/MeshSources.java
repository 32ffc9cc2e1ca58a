package dev.ferry.agent.lifecycle;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.health.Watchdog;
import dev.ferry.mesh.kube.KubernetesSource;
import dev.ferry.mesh.kube.TokenFile;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.mesh.source.MeshBudget;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.MeshSource;
import dev.ferry.mesh.source.ReloadReport;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.File;
import java.nio.file.Files;
import java.time.Duration;
import java.util.function.Consumer;

/** Builds the configured mesh source, its worker watched by the agent's watchdog. */
final class MeshSources {
    /** A publish, plus the slowest build of a large state on a loaded node (the file: a budget-sized reload). */
    static final Duration PUBLISH_ALLOWANCE = Duration.ofSeconds(60);

    /** How long the Kubernetes source gathers a burst of changes into one state (a rollout changes many at once). */
    static final Duration KUBERNETES_DEBOUNCE = Duration.ofMillis(20);

    private MeshSources() {}

    /**
     * @param client the API client when the source is the Kubernetes API (the pod marker shares it), else null
     */
    record Opened(MeshSource source, KubernetesClient client) {}

    static Opened open(NodeConfig config, MeshAssembler assembler, Consumer<ReloadReport> reports, Watchdog watchdog) {
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
                Config kube = config.kubeconfig().isEmpty()
                        ? Config.autoConfigure(null)
                        : Config.fromKubeconfig(new File(config.kubeconfig()));
                if (config.kubeconfig().isEmpty() && Files.isReadable(TokenFile.IN_CLUSTER)) {
                    // in a pod: the kubelet rotates the projected token; read it again whenever it changed
                    kube.setOauthTokenProvider(new TokenFile(TokenFile.IN_CLUSTER));
                }
                // the source retries on its own schedule (and says why each time); fabric8's own ten retries of
                // every request would hide an unreachable server from readiness for minutes
                kube.setRequestRetryBackoffLimit(0);
                KubernetesClient client =
                        new KubernetesClientBuilder().withConfig(kube).build();
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
