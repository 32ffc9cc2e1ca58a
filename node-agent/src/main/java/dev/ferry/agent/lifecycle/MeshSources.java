package dev.ferry.agent.lifecycle;

import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.health.Watchdog;
import dev.ferry.mesh.kube.KubeClientConfig;
import dev.ferry.mesh.kube.KubernetesSource;
import dev.ferry.mesh.source.MeshAssembler;
import dev.ferry.mesh.source.MeshBudget;
import dev.ferry.mesh.source.MeshFileSource;
import dev.ferry.mesh.source.MeshSource;
import dev.ferry.mesh.source.ReloadReport;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.kubernetes.model.jackson.Jackson2JdkTypesModule;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Consumer;
import tools.jackson.databind.json.JsonMapper;

/** Builds the configured mesh source, its worker watched by the agent's watchdog. */
final class MeshSources {
    /** A publish, plus the slowest build of a large state on a loaded node (the file: a budget-sized reload). */
    static final Duration PUBLISH_ALLOWANCE = Duration.ofSeconds(60);

    /** How long the Kubernetes source gathers a burst of changes into one state (a rollout changes many at once). */
    static final Duration KUBERNETES_DEBOUNCE = Duration.ofMillis(20);

    private MeshSources() {}

    /**
     * The client's JSON binding as fabric8 builds it by default, but without searching the class path for every
     * typed model class: the agent reads every kind as a generic resource, and that search loads the top-level
     * class of each API group fabric8 models (~1,000 classes) at the first response.
     */
    static KubernetesSerialization serialization() {
        return new KubernetesSerialization(
                JsonMapper.builderWithJackson2Defaults()
                        .addModule(new Jackson2JdkTypesModule())
                        .build(),
                false);
    }

    /**
     * @param client the API client when the source is the Kubernetes API (the pod marker shares it), else null
     */
    record Opened(MeshSource source, KubernetesClient client) {}

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
                Config kube = KubeClientConfig.select(config.kubeconfig());
                // the source retries on its own schedule (and says why each time); fabric8's own ten retries of
                // every request would hide an unreachable server from readiness for minutes
                kube.setRequestRetryBackoffLimit(0);
                KubernetesClient client = new KubernetesClientBuilder()
                        .withConfig(kube)
                        .withKubernetesSerialization(serialization())
                        .build();
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
