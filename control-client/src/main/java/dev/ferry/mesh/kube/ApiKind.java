package dev.ferry.mesh.kube;

import java.util.Locale;

/**
 * A kind's place in the API: its group, version and plural, from which the collection's path is made ({@code
 * /api/v1/pods}, {@code /apis/gateway.networking.k8s.io/v1/httproutes}). Named in full here, so the agent makes no
 * discovery request per kind.
 */
public record ApiKind(String group, String version, String kind, String plural, boolean namespaced) {

    /** A kind whose plural is its lower-cased name plus {@code s} (every kind the agent reads from the core API). */
    public static ApiKind of(String group, String version, String kind, boolean namespaced) {
        return new ApiKind(group, version, kind, kind.toLowerCase(Locale.ROOT) + "s", namespaced);
    }

    /** {@code v1} for the core group, {@code group/version} otherwise, as objects carry it. */
    public String apiVersion() {
        return group.isEmpty() ? version : group + "/" + version;
    }

    /** The collection across every namespace. */
    public String collection() {
        return prefix() + "/" + plural;
    }

    /** One object's path. */
    public String item(String namespace, String name) {
        return namespaced
                ? prefix() + "/namespaces/" + namespace + "/" + plural + "/" + name
                : prefix() + "/" + plural + "/" + name;
    }

    private String prefix() {
        return group.isEmpty() ? "/api/" + version : "/apis/" + group + "/" + version;
    }
}
