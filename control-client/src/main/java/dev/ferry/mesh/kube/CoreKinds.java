package dev.ferry.mesh.kube;

import io.fabric8.kubernetes.client.dsl.base.ResourceDefinitionContext;
import java.util.Locale;

/**
 * The built-in kinds the agent reads or patches, named in full (plural included) for the client's generic
 * resources: no discovery request to find their paths, and no typed model (fabric8's ~1,200 classes, a typed object
 * per event) for the few fields Ferry uses.
 */
public final class CoreKinds {
    public static final ResourceDefinitionContext NAMESPACE = kind("", "v1", "Namespace", false);
    public static final ResourceDefinitionContext POD = kind("", "v1", "Pod", true);
    public static final ResourceDefinitionContext SERVICE = kind("", "v1", "Service", true);
    public static final ResourceDefinitionContext CRD =
            kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition", false);

    private CoreKinds() {}

    /** EndpointSlices at {@code v1} (Kubernetes 1.21+) or {@code v1beta1}. */
    public static ResourceDefinitionContext endpointSlices(String version) {
        return kind("discovery.k8s.io", version, "EndpointSlice", true);
    }

    private static ResourceDefinitionContext kind(String group, String version, String kind, boolean namespaced) {
        return new ResourceDefinitionContext.Builder()
                .withGroup(group)
                .withVersion(version)
                .withKind(kind)
                .withPlural(kind.toLowerCase(Locale.ROOT) + "s")
                .withNamespaced(namespaced)
                .build();
    }
}
