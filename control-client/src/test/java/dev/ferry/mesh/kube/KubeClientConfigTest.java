package dev.ferry.mesh.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KubeClientConfigTest {
    @TempDir
    Path dir;

    private Path kubeconfig(String name, String server) throws Exception {
        return Files.writeString(dir.resolve(name), """
                clusters: [{name: c, cluster: {server: "%s"}}]
                users: [{name: u, user: {token: t}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                """.formatted(server));
    }

    private Path serviceAccount() throws Exception {
        Path sa = Files.createDirectories(dir.resolve("sa"));
        Files.writeString(sa.resolve("token"), "pod-token\n");
        Files.writeString(sa.resolve("ca.crt"), "not read here");
        Files.writeString(sa.resolve("namespace"), "ferry-system\n");
        return sa;
    }

    @Test
    void theConfiguredFileComesFirstThenThePodsServiceAccountThenKubeconfigThenHome() throws Exception {
        Path home = Files.createDirectories(dir.resolve("home"));
        Path sa = serviceAccount();
        Path configured = kubeconfig("configured", "https://configured:6443");
        Path fromEnv = kubeconfig("env", "https://env:6443");
        Map<String, String> pod = Map.of(
                "KUBERNETES_SERVICE_HOST",
                "10.96.0.1",
                "KUBERNETES_SERVICE_PORT",
                "443",
                "KUBECONFIG",
                fromEnv.toString());

        assertThat(KubeClientConfig.select(configured.toString(), pod, home, sa)
                        .url()
                        .toString())
                .startsWith("https://configured:6443");

        ApiServer inPod = KubeClientConfig.select("", pod, home, sa);
        assertThat(inPod.url().toString()).isEqualTo("https://10.96.0.1:443");
        assertThat(inPod.token().value()).isEqualTo("pod-token");
        assertThat(inPod.caPem()).isEqualTo(Files.readAllBytes(sa.resolve("ca.crt")));
        assertThat(inPod.insecure()).isFalse();
        assertThat(inPod.namespace()).isEqualTo("ferry-system");
        assertThat(KubeClientConfig.select("", Map.of("KUBERNETES_SERVICE_HOST", "fd00::1"), home, sa)
                        .url()
                        .toString())
                .startsWith("https://[fd00::1]:443");

        assertThat(KubeClientConfig.select("", Map.of("KUBECONFIG", fromEnv.toString()), home, dir.resolve("none"))
                        .url()
                        .toString())
                .startsWith("https://env:6443");

        Files.createDirectories(home.resolve(".kube"));
        Files.copy(kubeconfig("home-config", "https://home:6443"), home.resolve(".kube/config"));
        assertThat(KubeClientConfig.select("", Map.of(), home, dir.resolve("none"))
                        .url()
                        .toString())
                .startsWith("https://home:6443");
    }

    @Test
    void noCredentialsOrSeveralKubeconfigsAreClearErrors() throws Exception {
        Path home = Files.createDirectories(dir.resolve("empty-home"));
        assertThatThrownBy(() -> KubeClientConfig.select("", Map.of(), home, dir.resolve("none")))
                .hasMessageContaining("no Kubernetes credentials")
                .hasMessageContaining("FERRY_KUBECONFIG");
        assertThatThrownBy(() -> KubeClientConfig.select("", Map.of("KUBECONFIG", "/a:/b"), home, dir.resolve("none")))
                .hasMessageContaining("lists several files");
    }
}
