package dev.ferry.mesh.kube;

import java.util.List;

/**
 * A kind Ferry reads from a CustomResourceDefinition (Gateway API, Istio), with the versions it understands in order
 * of preference. Read as generic resources and converted at the edge by the same converters as the mesh file: no
 * generated model (fabric8's Istio model for 8.0 is not published, and the 7.x one breaks against 8.0).
 */
record CustomKind(String group, String plural, String kind, List<String> versions) {
    static final List<CustomKind> ALL = List.of(
            new CustomKind("gateway.networking.k8s.io", "httproutes", "HTTPRoute", List.of("v1", "v1beta1")),
            new CustomKind("gateway.networking.k8s.io", "grpcroutes", "GRPCRoute", List.of("v1")),
            new CustomKind(
                    "security.istio.io", "authorizationpolicies", "AuthorizationPolicy", List.of("v1", "v1beta1")),
            new CustomKind("security.istio.io", "peerauthentications", "PeerAuthentication", List.of("v1", "v1beta1")),
            new CustomKind(
                    "networking.istio.io",
                    "destinationrules",
                    "DestinationRule",
                    List.of("v1", "v1beta1", "v1alpha3")));

    /** The CRD's name: {@code plural.group}. */
    String crdName() {
        return plural + "." + group;
    }

    static CustomKind byCrdName(String name) {
        for (CustomKind k : ALL) {
            if (k.crdName().equals(name)) {
                return k;
            }
        }
        return null;
    }
}
