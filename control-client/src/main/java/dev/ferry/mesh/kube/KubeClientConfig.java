package dev.ferry.mesh.kube;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Where the agent's API credentials come from, in kubectl's order: the configured kubeconfig file; else, in a pod,
 * the service account (the API server from {@code KUBERNETES_SERVICE_HOST}/{@code _PORT}, the mounted CA, the
 * projected token re-read whenever the kubelet rotates it); else {@code $KUBECONFIG} (one file) or {@code
 * ~/.kube/config}. Every kubeconfig is read by {@link KubeconfigFile}.
 */
public final class KubeClientConfig {
    /** Where the kubelet mounts a pod's service account. */
    public static final Path SERVICE_ACCOUNT = Path.of("/var/run/secrets/kubernetes.io/serviceaccount");

    private KubeClientConfig() {}

    public static ApiServer select(String kubeconfig) throws IOException {
        return select(kubeconfig, System.getenv(), Path.of(System.getProperty("user.home")), SERVICE_ACCOUNT);
    }

    static ApiServer select(String kubeconfig, Map<String, String> env, Path home, Path serviceAccount)
            throws IOException {
        if (!kubeconfig.isEmpty()) {
            return KubeconfigFile.read(Path.of(kubeconfig));
        }
        String host = env.getOrDefault("KUBERNETES_SERVICE_HOST", "");
        Path token = serviceAccount.resolve("token");
        if (!host.isEmpty() && Files.isReadable(token)) {
            String port = env.getOrDefault("KUBERNETES_SERVICE_PORT", "443");
            Path ca = serviceAccount.resolve("ca.crt");
            Path namespace = serviceAccount.resolve("namespace");
            return new ApiServer(
                    URI.create("https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port),
                    false,
                    Files.isReadable(ca) ? Files.readAllBytes(ca) : null,
                    null,
                    null,
                    new TokenFile(token),
                    Files.isReadable(namespace) ? Files.readString(namespace).trim() : "");
        }
        String fromEnv = env.getOrDefault("KUBECONFIG", "");
        if (!fromEnv.isEmpty()) {
            if (fromEnv.contains(java.io.File.pathSeparator)) {
                throw new IOException("$KUBECONFIG lists several files (" + fromEnv
                        + "); the agent reads one: set kubeconfig (FERRY_KUBECONFIG) to it");
            }
            return KubeconfigFile.read(Path.of(fromEnv));
        }
        Path own = home.resolve(".kube/config");
        if (Files.isReadable(own)) {
            return KubeconfigFile.read(own);
        }
        throw new IOException("no Kubernetes credentials: not in a pod (no KUBERNETES_SERVICE_HOST and service-account"
                + " token " + token + "), no $KUBECONFIG, no " + own + "; set kubeconfig (FERRY_KUBECONFIG)");
    }
}
