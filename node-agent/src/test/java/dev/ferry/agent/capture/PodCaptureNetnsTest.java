package dev.ferry.agent.capture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.Nginx;
import dev.ferry.agent.support.PromText;
import dev.ferry.mesh.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * In-pod capture without a sidecar: the agent runs in its own namespace and puts redirect rules and listeners inside
 * each pod's namespace. A client pod's request to a Service VIP is captured outbound in the client pod and inbound
 * in the web pod, by one in-process agent, with the kernel's SO_ORIGINAL_DST both times. Root only.
 */
class PodCaptureNetnsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll"})
    void clientPodToServiceVipIsCapturedInBothPods(String transport) throws Exception {
        try (Netns client = new Netns("ferry-cli");
                Netns web = new Netns("ferry-web")) {
            Netns.link(client, "10.244.1.2", web, "10.244.1.3");
            client.exec("ip", "route", "add", "10.96.0.0/16", "dev", "eth0");
            Nginx.startWhoAmI(web, dir, "10.244.1.3", 8080);

            Path mesh = Files.writeString(dir.resolve("mesh.yaml"), """
                    apiVersion: v1
                    kind: Namespace
                    metadata: {name: test, labels: {ferry.dev/mesh: enabled}}
                    ---
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: client-1, namespace: test, uid: u1, labels: {app: client}}
                    spec: {nodeName: node-1, serviceAccountName: client, containers: [{name: c, image: i}]}
                    status: {phase: Running, podIP: 10.244.1.2, conditions: [{type: Ready, status: "True"}]}
                    ---
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: web-1, namespace: test, uid: u2, labels: {app: web}}
                    spec:
                      nodeName: node-1
                      serviceAccountName: web
                      containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]
                    status: {phase: Running, podIP: 10.244.1.3, conditions: [{type: Ready, status: "True"}]}
                    ---
                    apiVersion: v1
                    kind: Service
                    metadata: {name: web, namespace: test}
                    spec: {clusterIP: 10.96.0.10, ports: [{port: 80, targetPort: http}], selector: {app: web}}
                    """);
            try (AgentFixture f = new AgentFixture(transport, mesh, Map.of("FERRY_TEST_REAL_ORIGINAL_DST", "true"))) {
                Workload clientPod =
                        f.agent.snapshot().workload("test", "client-1").orElseThrow();
                Workload webPod = f.agent.snapshot().workload("test", "web-1").orElseThrow();
                PodCapture c = f.agent.attachPod(Path.of("/run/netns", client.name()), clientPod);
                PodCapture w = f.agent.attachPod(Path.of("/run/netns", web.name()), webPod);

                assertThat(client.exec("nft", "list", "table", "inet", "ferry")).contains("redirect to :15001");
                String body = client.exec("curl", "-sS", "--max-time", "5", "http://10.96.0.10/");
                // The app sees the client pod's own IP: outbound sockets live in the client pod, inbound delivery
                // connects with the client's address (IP_TRANSPARENT) and the web pod routes replies back to it.
                assertThat(body).isEqualTo("hello from web, you are 10.244.1.2");

                String metrics = f.scrape();
                assertThat(PromText.sum(
                                metrics,
                                "istio_tcp_connections_opened_total",
                                Map.of(
                                        "reporter", "source",
                                        "source_workload", "client",
                                        "destination_service", "web.test.svc.cluster.local",
                                        "destination_workload", "web")))
                        .isEqualTo(1);
                assertThat(PromText.sum(
                                metrics,
                                "istio_tcp_connections_opened_total",
                                Map.of(
                                        "reporter", "destination",
                                        "source_workload", "unknown",
                                        "destination_workload", "web")))
                        .isEqualTo(1);

                // Listeners gone (agent down for this pod): the pod's connections are refused, never sent around.
                c.close();
                w.close();
                String refused =
                        client.exec("sh", "-c", "curl -sS --max-time 5 http://10.96.0.10/ >/dev/null 2>&1; echo $?");
                assertThat(refused.trim()).isEqualTo("7"); // curl: failed to connect
                assertThat(client.exec("nft", "list", "table", "inet", "ferry"))
                        .as("DEL never removes the rules")
                        .contains("redirect to :15001");
            }
        }
    }
}
