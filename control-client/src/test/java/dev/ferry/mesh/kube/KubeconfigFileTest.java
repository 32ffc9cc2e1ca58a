package dev.ferry.mesh.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
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
        ApiServer c = KubeconfigFile.read(write("""
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
        assertThat(c.url().toString()).isEqualTo("https://127.0.0.1:6443");
        assertThat(new String(c.caPem(), StandardCharsets.US_ASCII)).isEqualTo("CA");
        assertThat(new String(c.clientCertPem(), StandardCharsets.US_ASCII)).isEqualTo("CERT");
        assertThat(new String(c.clientKeyPem(), StandardCharsets.US_ASCII)).isEqualTo("KEY");
        assertThat(c.token().value()).isEmpty();
        assertThat(c.namespace()).isEqualTo("ferry-system");
        assertThat(c.insecure()).isFalse();
    }

    @Test
    void aTokenFileIsReadWhenItChangesAndPathsAreRelativeToTheKubeconfig() throws Exception {
        Files.writeString(dir.resolve("token"), "first\n");
        Files.writeString(dir.resolve("ca.crt"), "CA FILE");
        ApiServer c = KubeconfigFile.read(write("""
                clusters: [{name: c, cluster: {server: "https://k:6443", insecure-skip-tls-verify: true,
                  certificate-authority: ca.crt}}]
                users: [{name: u, user: {tokenFile: token}}]
                contexts: [{name: x, context: {cluster: c, user: u}}]
                current-context: x
                """));
        assertThat(c.insecure()).isTrue();
        assertThat(new String(c.caPem(), StandardCharsets.US_ASCII)).isEqualTo("CA FILE");
        assertThat(c.token().value()).isEqualTo("first");
        Files.writeString(dir.resolve("token"), "second\n");
        Files.setLastModifiedTime(
                dir.resolve("token"), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        assertThat(c.token().value())
                .as("re-read only by refresh, off the client's loop")
                .isEqualTo("first");
        c.token().refresh();
        assertThat(c.token().value()).isEqualTo("second");
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
        assertThatThrownBy(() -> KubeconfigFile.read(
                        write(base.replace("{exec: {command: aws}}", "{client-certificate: missing.crt}")
                                + "current-context: x\n")))
                .hasMessageContaining("client-certificate " + dir.resolve("missing.crt") + " unreadable");
        assertThatThrownBy(() -> KubeconfigFile.read(write(
                        base.replace("{exec: {command: aws}}", "{username: a, password: b}") + "current-context: x\n")))
                .hasMessageContaining("basic authentication is not supported");
        assertThatThrownBy(() ->
                        KubeconfigFile.read(write(base.replace("https://k:6443", "ftp://k") + "current-context: x\n")))
                .hasMessageContaining("not an http(s) URL");
        assertThatThrownBy(() -> KubeconfigFile.read(write("clusters: [unclosed")))
                .hasMessageContaining("not YAML");
        assertThatThrownBy(() -> KubeconfigFile.read(write("- a list\n"))).hasMessageContaining("not a kubeconfig");
    }
}
