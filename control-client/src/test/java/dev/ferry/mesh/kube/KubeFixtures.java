package dev.ferry.mesh.kube;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodStatusBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1beta1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1beta1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Resources as an operator (or the cluster's controllers, which do not run here) would create them. */
public final class KubeFixtures {
    private KubeFixtures() {}

    public static void namespace(KubernetesClient c, String name) {
        c.namespaces()
                .resource(new NamespaceBuilder()
                        .withNewMetadata()
                        .withName(name)
                        .addToLabels("ferry.dev/mesh", "enabled")
                        .endMetadata()
                        .build())
                .create();
    }

    /** A pod as the scheduler and kubelet would leave it: bound to a node, running, ready, with an IP. */
    public static void runningPod(KubernetesClient c, String ns, String name, String ip, String phase) {
        runningPod(c, ns, name, ip, phase, "web");
    }

    /** The same, labelled {@code app: <app>}. */
    public static void runningPod(KubernetesClient c, String ns, String name, String ip, String phase, String app) {
        runningPod(c, ns, name, ip, phase, app, "node-1");
    }

    /** The same, on the given node. */
    public static void runningPod(
            KubernetesClient c, String ns, String name, String ip, String phase, String app, String node) {
        Pod p = new PodBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(ns)
                .addToLabels("app", app)
                .endMetadata()
                .withNewSpec()
                .withNodeName(node)
                .withServiceAccountName("web")
                .addNewContainer()
                .withName("c")
                .withImage("nginx")
                .addNewPort()
                .withName("http")
                .withContainerPort(8080)
                .endPort()
                .endContainer()
                .endSpec()
                .build();
        c.pods().inNamespace(ns).resource(p).create();
        c.pods().inNamespace(ns).withName(name).editStatus(x -> {
            x.setStatus(new PodStatusBuilder()
                    .withPhase(phase)
                    .withPodIP(ip)
                    .addNewPodIP()
                    .withIp(ip)
                    .endPodIP()
                    .addNewCondition()
                    .withType("Ready")
                    .withStatus("Running".equals(phase) ? "True" : "False")
                    .endCondition()
                    .build());
            return x;
        });
    }

    public static String service(KubernetesClient c, String ns, String name, boolean selector) {
        var b = new ServiceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(ns)
                .endMetadata()
                .withNewSpec()
                .addNewPort()
                .withName("http")
                .withPort(80)
                .withNewTargetPort(8080)
                .withAppProtocol("http")
                .endPort();
        if (selector) {
            b.addToSelector("app", "web");
        }
        return c.services()
                .inNamespace(ns)
                .resource(b.endSpec().build())
                .create()
                .getSpec()
                .getClusterIP();
    }

    /** An EndpointSlice (v1beta1: what Kubernetes 1.20 serves) naming the Service, one ready endpoint per address. */
    public static void slice(KubernetesClient c, String ns, String name, String service, List<String> ips) {
        EndpointSliceBuilder b = new EndpointSliceBuilder()
                .withNewMetadata()
                .withName(name)
                .withNamespace(ns)
                .addToLabels("kubernetes.io/service-name", service)
                .endMetadata()
                .withAddressType("IPv4")
                .addNewPort()
                .withName("http")
                .withPort(8080)
                .withProtocol("TCP")
                .endPort();
        for (String ip : ips) {
            b.addNewEndpoint()
                    .withAddresses(ip)
                    .withNewConditions()
                    .withReady(true)
                    .endConditions()
                    .endEndpoint();
        }
        EndpointSlice s = b.build();
        c.discovery().v1beta1().endpointSlices().inNamespace(ns).resource(s).createOr(x -> x.update());
    }

    /** The CRDs of every custom kind Ferry reads, open schemas (the real ones validate more; Ferry validates too). */
    public static void installCrds(KubernetesClient c) {
        for (CustomKind k : CustomKind.ALL) {
            StringBuilder versions = new StringBuilder();
            for (String v : k.versions()) {
                versions.append("""
                          - name: %s
                            served: true
                            storage: %s
                            schema:
                              openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
                        """.formatted(v, v.equals(k.versions().getFirst())));
            }
            String yaml = """
                    apiVersion: apiextensions.k8s.io/v1
                    kind: CustomResourceDefinition
                    metadata:
                      name: %s
                      annotations: {api-approved.kubernetes.io: "https://github.com/kubernetes-sigs/gateway-api/pull/1"}
                    spec:
                      group: %s
                      scope: Namespaced
                      names: {plural: %s, singular: %s, kind: %s, listKind: %sList}
                      versions:
                    %s""".formatted(
                            k.crdName(),
                            k.group(),
                            k.plural(),
                            k.kind().toLowerCase(java.util.Locale.ROOT),
                            k.kind(),
                            k.kind(),
                            versions);
            c.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)))
                    .createOrReplace();
        }
        for (CustomKind k : CustomKind.ALL) {
            c.apiextensions()
                    .v1()
                    .customResourceDefinitions()
                    .withName(k.crdName())
                    .waitUntilCondition(
                            crd -> crd != null
                                    && crd.getStatus() != null
                                    && crd.getStatus().getConditions().stream()
                                            .anyMatch(x ->
                                                    "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                            30,
                            java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    public static void apply(KubernetesClient c, String yaml) {
        c.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).createOrReplace();
    }

    /**
     * Creates (or updates) every document of a mesh file in the API server, then sets each Pod's status as a
     * kubelet would (the API ignores status on create): the same documents feed either source.
     */
    public static void applyMeshFile(KubernetesClient c, String yaml) {
        for (var item : c.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8)))
                .items()) {
            c.resource(item).createOr(x -> x.update());
            if (item instanceof Pod pod && pod.getStatus() != null) {
                var status = pod.getStatus();
                c.pods()
                        .inNamespace(pod.getMetadata().getNamespace())
                        .withName(pod.getMetadata().getName())
                        .editStatus(x -> {
                            x.setStatus(status);
                            return x;
                        });
            }
        }
    }

    /** A kubeconfig for the server with a bearer token (the API server's certificate is self-signed). */
    public static java.nio.file.Path kubeconfig(java.nio.file.Path dir, String url, String token)
            throws java.io.IOException {
        java.nio.file.Path f = dir.resolve("kubeconfig");
        java.nio.file.Files.writeString(f, """
                apiVersion: v1
                kind: Config
                clusters: [{name: test, cluster: {server: "%s", insecure-skip-tls-verify: true}}]
                users: [{name: agent, user: {token: "%s"}}]
                contexts: [{name: test, context: {cluster: test, user: agent}}]
                current-context: test
                """.formatted(url, token));
        return f;
    }
}
