package dev.ferry.agent.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes small mesh files for tests: one enrolled namespace, pods at loopback IPs, Services with VIPs. */
public final class MeshFiles {
    private final StringBuilder docs = new StringBuilder();

    public MeshFiles() {
        docs.append("""
                apiVersion: v1
                kind: Namespace
                metadata: {name: test, labels: {ferry.dev/mesh: enabled}}
                """);
    }

    public MeshFiles pod(String name, String ip, String node, String app, int port) {
        docs.append("""
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: test, uid: uid-%s, labels: {app: %s}}
                spec:
                  nodeName: %s
                  serviceAccountName: %s
                  containers: [{name: c, image: i, ports: [{name: echo, containerPort: %d}]}]
                status: {phase: Running, podIP: %s, conditions: [{type: Ready, status: "True"}]}
                """.formatted(name, name, app, node, app, port, ip));
        return this;
    }

    public MeshFiles service(String name, String vip, int port, String app, String targetPort) {
        docs.append("""
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: %s, namespace: test}
                spec: {clusterIP: %s, ports: [{name: tcp, port: %d, targetPort: %s}], selector: {app: %s}}
                """.formatted(name, vip, port, targetPort, app));
        return this;
    }

    /** Appends a document as written (e.g. an AuthorizationPolicy). */
    public MeshFiles raw(String document) {
        docs.append("---\n").append(document.strip()).append("\n");
        return this;
    }

    /** The documents, for a test that creates them through the Kubernetes API instead of a file. */
    public String text() {
        return docs.toString();
    }

    public Path write(Path dir) throws IOException {
        Path f = dir.resolve("mesh.yaml");
        Files.writeString(f, docs.toString());
        return f;
    }
}
