package dev.ferry.agent.support;

/**
 * The cluster tests' control plane: namespace {@code shop} enrolled, pods {@code client-1} (node-1) and {@code web-1}
 * (HTTP on 8080), Service {@code web} at 10.96.0.10:80. A pod without an IP is Pending; with one it is Running and, when
 * {@code marked}, carries the captured mark its agent would set through the API (so a source agent on {@code auto}
 * tunnels to it).
 */
public final class ShopMesh {
    private ShopMesh() {}

    public static String yaml(String clientIp, String webIp, String webNode, boolean marked) {
        return """
                apiVersion: v1
                kind: Namespace
                metadata: {name: shop, labels: {ferry.dev/mesh: enabled}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: client-1, namespace: shop, uid: uid-client, labels: {app: client}%s}
                spec: {nodeName: node-1, serviceAccountName: client, containers: [{name: c, image: i}]}
                %s
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: web-1, namespace: shop, uid: uid-web, labels: {app: web}%s}
                spec:
                  nodeName: %s
                  serviceAccountName: web
                  containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]
                %s
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: web, namespace: shop}
                spec: {clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: http}], selector: {app: web}}
                """.formatted(mark(marked, clientIp), status(clientIp), mark(marked, webIp), webNode, status(webIp));
    }

    private static String mark(boolean marked, String ip) {
        return marked && !ip.isEmpty() ? ", annotations: {ambient.istio.io/redirection: enabled}" : "";
    }

    private static String status(String ip) {
        return ip.isEmpty()
                ? "status: {phase: Pending}"
                : "status: {phase: Running, podIP: " + ip + ", conditions: [{type: Ready, status: \"True\"}]}";
    }
}
