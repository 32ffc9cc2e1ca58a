package dev.ferry.mesh.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.client.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KubeconfigFileTest {
    @TempDir
    Path dir;

    private Path write(String yaml) throws Exception {
        return Files.writeString(dir.resolve("kubeconfig"), yaml);
    }

    @Test
    void theCurrentContextsClusterAndUserAreRead() throws Exception {
        Config c = KubeconfigFile.read(write("""
                apiVersion: v1
                kind: Config
                clusters:
                - {name: other, cluster: {server: "https://other:6443"}}
                - {name: test, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: Q0E=}}
                users:
                - {name: agent, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}}
                - {name: other, user: {token: nope}}
                contexts:
                - {name: other, context: {cluster: other, user: other}}
                - {name: test, context: {cluster: test, user: agent, namespace: ferry-system}}
                current-context: test
                """));
        assertThat(c.getMasterUrl()).startsWith("https://127.0.0.1:6443");
        assertThat(c.getCaCertData()).isEqualTo("Q0E=");
        assertThat(c.getClientCertData()).isEqualTo("Q0VSVA==");
        assertThat(c.getClientKeyData()).isEqualTo("S0VZ");
        assertThat(c.getOauthToken()).isNull();
        assertThat(c.getNamespace()).isEqualTo("ferry-system");
        assertThat(c.isTrustCerts()).isFalse();
    }

    @Test
    void aTokenFileIsReadWhenItChangesAndPathsAreRelativeToTheKubeconfig() throws Exception {
        Files.writeString(dir.resolve("token"), "first\n");
        Config c = KubeconfigFile.read(write("""
                clusters: [{name: c, cluster: {server: "https://k:6443", insecure-skip-tls-verify: true,
                  certificate-authority: ca.crt}}]
                users: [{name: u, user: {tokenFile: token}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                """));
        assertThat(c.isTrustCerts()).isTrue();
        assertThat(c.isDisableHostnameVerification()).isTrue();
        assertThat(c.getCaCertFile()).isEqualTo(dir.resolve("ca.crt").toString());
        assertThat(c.getOauthTokenProvider().getToken()).isEqualTo("first");
        Files.writeString(dir.resolve("token"), "second\n");
        Files.setLastModifiedTime(
                dir.resolve("token"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        assertThat(c.getOauthTokenProvider().getToken()).isEqualTo("second");
    }

    @Test
    void whatTheAgentCannotUseIsRefusedNamingFileAndField() throws Exception {
        String base = """
                clusters: [{name: c, cluster: {server: "https://k:6443"}}]
                users: [{name: u, user: {exec: {command: aws}}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                """;
        assertThatThrownBy(() -> KubeconfigFile.read(write(base)))
                .hasMessageContaining("kubeconfig " + dir.resolve("kubeconfig"))
                .hasMessageContaining("no current-context");
        assertThatThrownBy(() -> KubeconfigFile.read(write(base + "current-context: y\n")))
                .hasMessageContaining("no entry 'y' in contexts");
        assertThatThrownBy(() -> KubeconfigFile.read(write(base + "current-context: x\n")))
                .hasMessageContaining("user u: 'exec' credential plugins are not supported");
        assertThatThrownBy(() -> KubeconfigFile.read(
                        write(base.replace("server: \"https://k:6443\"", "x: 1") + "current-context: x\n")))
                .hasMessageContaining("has no server");
        assertThatThrownBy(() -> KubeconfigFile.read(write("clusters: [unclosed")))
                .hasMessageContaining("not YAML");
        assertThatThrownBy(() -> KubeconfigFile.read(write("- a list\n"))).hasMessageContaining("not a kubeconfig");
    }
}
