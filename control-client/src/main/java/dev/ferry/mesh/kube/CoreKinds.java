package dev.ferry.mesh.kube;

/** The built-in kinds the agent reads or patches, named in full: no discovery request to find their paths. */
public final class CoreKinds {
    public static final ApiKind NAMESPACE = ApiKind.of("", "v1", "Namespace", false);
    public static final ApiKind POD = ApiKind.of("", "v1", "Pod", true);
    public static final ApiKind SERVICE = ApiKind.of("", "v1", "Service", true);
    public static final ApiKind CRD = ApiKind.of("apiextensions.k8s.io", "v1", "CustomResourceDefinition", false);

    private CoreKinds() {}

    /** EndpointSlices at {@code v1} (Kubernetes 1.21+) or {@code v1beta1}. */
    public static ApiKind endpointSlices(String version) {
        return ApiKind.of("discovery.k8s.io", version, "EndpointSlice", true);
    }
}
