package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.ferry.agent.support.AgentFixture;
import dev.ferry.agent.support.Netns;
import dev.ferry.agent.support.PromText;
import dev.ferry.mesh.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * L7 in the source's node hop, end to end: a captured client pod (curl) sends HTTP/1.1 to a Service VIP whose port
 * is named {@code http}; the agent parses it, routes each request by the Service's HTTPRoute and sends it to an
 * endpoint of the chosen backend Service — real nginx upstreams that echo what they received. Cases are named after
 * the Gateway API mesh conformance tests they follow. One cluster for the class; root only.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpRoutingNetnsTest {
    private Path dir;

    private Netns client;
    private Netns web;
    private AgentFixture agent;

    @BeforeAll
    void cluster(@TempDir Path dir) throws Exception {
        this.dir = dir;
        client = new Netns("ferry-l7c");
        web = new Netns("ferry-l7w");
        Netns.link(client, "10.244.1.2", web, "10.244.1.3");
        client.exec("ip", "route", "add", "10.96.0.0/16", "dev", "eth0");
        for (String ip :
                new String[] {"10.244.1.4", "10.244.1.5", "10.244.1.6", "10.244.1.7", "10.244.1.8", "10.244.1.9"}) {
            web.exec("ip", "addr", "add", ip + "/24", "dev", "eth0");
        }
        startEcho();
        startFlaky();
        startGrpc();
        Path mesh = Files.writeString(
                dir.resolve("mesh.yaml"),
                """
                apiVersion: v1
                kind: Namespace
                metadata: {name: test, labels: {ferry.dev/mesh: enabled}}
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: client-1, namespace: test, uid: u1, labels: {app: client}}
                spec: {nodeName: node-1, serviceAccountName: client, containers: [{name: c, image: i}]}
                status: {phase: Running, podIP: 10.244.1.2, conditions: [{type: Ready, status: "True"}]}
                """ + pod("v1-a", "10.244.1.3", "v1") + pod("v1-b", "10.244.1.4", "v1")
                        + pod("v2-a", "10.244.1.5", "v2")
                        + pod("flaky-a", "10.244.1.6", "flaky")
                        + pod("flaky-b", "10.244.1.7", "flaky")
                        + grpcPod("grpc-a", "10.244.1.8")
                        + grpcPod("grpc-b", "10.244.1.9")
                        + grpcService("grpc-echo", "10.96.0.27", "{app: grpc}")
                        + grpcService("grpc-a", "10.96.0.28", "{app: grpc, pod: grpc-a}")
                        + grpcService("grpc-b", "10.96.0.29", "{app: grpc, pod: grpc-b}")
                        + grpcService("grpc-retry", "10.96.0.30", "{app: grpc}")
                        + service("echo", "10.96.0.20", "{app: echo}")
                        + service("echo-v1", "10.96.0.21", "{app: echo, version: v1}")
                        + service("echo-v2", "10.96.0.22", "{app: echo, version: v2}")
                        + service("plain", "10.96.0.23", "{app: echo, version: v1}")
                        + service("flaky", "10.96.0.24", "{app: echo, version: flaky}")
                        + service("storm", "10.96.0.25", "{app: echo, version: flaky}")
                        + """
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: tcp-echo, namespace: test}
                spec: {clusterIP: 10.96.0.26, ports: [{port: 81, targetPort: 8080}], selector: {app: echo, version: v1}}
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: tcp-echo, namespace: test}
                spec:
                  host: tcp-echo.test.svc.cluster.local
                  trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true}}}
                ---
                """
                        + """
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: echo, namespace: test}
                spec:
                  parentRefs: [{group: "", kind: Service, name: echo, port: 80}]
                  rules:
                  - name: v2-path
                    matches: [{path: {type: PathPrefix, value: /v2}}]
                    filters:
                    - type: RequestHeaderModifier
                      requestHeaderModifier: {set: [{name: X-Added, value: "yes"}], remove: [X-Remove]}
                    - type: ResponseHeaderModifier
                      responseHeaderModifier: {add: [{name: X-Route, value: v2-path}]}
                    backendRefs: [{name: echo-v2, port: 80}]
                  - matches: [{headers: [{name: version, value: one}]}]
                    backendRefs: [{name: echo-v1, port: 80}]
                  - matches: [{path: {type: Exact, value: /old}}]
                    filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplaceFullPath, replaceFullPath: /new}, statusCode: 301}}]
                  - matches: [{path: {type: PathPrefix, value: /prefix/one}}]
                    filters: [{type: URLRewrite, urlRewrite: {hostname: rewritten.example, path: {type: ReplacePrefixMatch, replacePrefixMatch: /one}}}]
                    backendRefs: [{name: echo-v1, port: 80}]
                  - matches: [{path: {type: Exact, value: /missing}}]
                    backendRefs: [{name: no-such-service, port: 80}]
                  - backendRefs: [{name: echo-v1, port: 80, weight: 90}, {name: echo-v2, port: 80, weight: 10}]
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: flaky, namespace: test}
                spec:
                  parentRefs: [{kind: Service, name: flaky, port: 80}]
                  rules:
                  - matches: [{path: {type: PathPrefix, value: /fail-once}}, {path: {type: PathPrefix, value: /reset-once}}]
                    backendRefs: [{name: flaky, port: 80}]
                    retry: {codes: [503], attempts: 2, backoff: 10ms}
                  - matches: [{path: {type: PathPrefix, value: /slow-retry}}]
                    backendRefs: [{name: flaky, port: 80}]
                    timeouts: {request: 5s, backendRequest: 300ms}
                    retry: {codes: [], attempts: 1, backoff: 1ms}
                  - matches: [{path: {type: PathPrefix, value: /slow}}]
                    backendRefs: [{name: flaky, port: 80}]
                    timeouts: {request: 400ms}
                  - backendRefs: [{name: flaky, port: 80}]
                ---
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: echo-v1, namespace: test}
                spec:
                  host: echo-v1
                  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 1031}}}}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: storm, namespace: test}
                spec:
                  parentRefs: [{kind: Service, name: storm, port: 80}]
                  rules:
                  - backendRefs: [{name: storm, port: 80}]
                    retry: {codes: [503], attempts: 3, backoff: 1ms}
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: GRPCRoute
                metadata: {name: grpc-echo, namespace: test}
                spec:
                  parentRefs: [{kind: Service, name: grpc-echo, port: 50051}]
                  rules:
                  - matches: [{method: {service: ferry.Echo, method: Say}, headers: [{name: x-canary, value: "yes"}]}]
                    backendRefs: [{name: grpc-b, port: 50051}]
                  - backendRefs: [{name: grpc-a, port: 50051, weight: 1}, {name: grpc-b, port: 50051, weight: 0}]
                ---
                apiVersion: gateway.networking.k8s.io/v1
                kind: HTTPRoute
                metadata: {name: grpc-retry, namespace: test}
                spec:
                  parentRefs: [{kind: Service, name: grpc-retry, port: 50051}]
                  rules:
                  - backendRefs: [{name: grpc-retry, port: 50051}]
                    retry: {codes: [503], attempts: 2, backoff: 1ms}
                """);
        agent = new AgentFixture(
                "epoll",
                mesh,
                Map.of(
                        "FERRY_TEST_REAL_ORIGINAL_DST",
                        "true",
                        "FERRY_L7_OUTBOUND",
                        "true",
                        "FERRY_HTTP_HEAD_TIMEOUT",
                        "1s",
                        "FERRY_HTTP_IDLE_TIMEOUT",
                        "3s"));
        Workload clientPod = agent.agent.snapshot().workload("test", "client-1").orElseThrow();
        agent.agent.attachPod(Path.of("/run/netns", client.name()), clientPod);
    }

    @AfterAll
    void teardown() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (client != null) {
            client.close();
        }
        if (web != null) {
            web.close();
        }
    }

    private static String pod(String name, String ip, String version) {
        return """
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: test, uid: u-%s, labels: {app: echo, version: %s}}
                spec:
                  nodeName: node-1
                  serviceAccountName: echo
                  containers: [{name: c, image: i, ports: [{name: http, containerPort: 8080}]}]
                status: {phase: Running, podIP: %s, conditions: [{type: Ready, status: "True"}]}
                """.formatted(name, name, version, ip);
    }

    private static String grpcPod(String name, String ip) {
        return """
                ---
                apiVersion: v1
                kind: Pod
                metadata: {name: %s, namespace: test, uid: u-%s, labels: {app: grpc, pod: %s}}
                spec:
                  nodeName: node-1
                  serviceAccountName: grpc
                  containers: [{name: c, image: i, ports: [{name: grpc, containerPort: 50051}]}]
                status: {phase: Running, podIP: %s, conditions: [{type: Ready, status: "True"}]}
                """.formatted(name, name, name, ip);
    }

    private static String grpcService(String name, String vip, String selector) {
        return """
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: %s, namespace: test}
                spec: {clusterIP: %s, ports: [{name: grpc, port: 50051, targetPort: grpc}], selector: %s}
                ---
                """.formatted(name, vip, selector);
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** A real grpc-java server ({@link dev.ferry.agent.support.GrpcEcho}) on both gRPC pod addresses. */
    private void startGrpc() throws Exception {
        Process p = web.start(new ProcessBuilder(
                        java(),
                        "-Xmx64m",
                        "--enable-native-access=ALL-UNNAMED",
                        "-cp",
                        System.getProperty("java.class.path"),
                        "dev.ferry.agent.support.GrpcEcho",
                        "server",
                        "50051")
                .redirectError(dir.resolve("grpc.log").toFile()));
        var out = new java.io.BufferedReader(
                new java.io.InputStreamReader(p.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
        java.util.concurrent.CompletableFuture<String> line = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (java.io.IOException e) {
                return e.toString();
            }
        });
        assertThat(line.get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("listening on 50051");
    }

    /** Unary calls from a real grpc-java client in the client pod (one channel: one HTTP/2 connection). */
    private String grpcCall(String target, String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(
                java(),
                "-Xmx64m",
                "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.ferry.agent.support.GrpcEcho",
                "call",
                target));
        cmd.addAll(java.util.List.of(args));
        String out = client.exec(cmd.toArray(String[]::new));
        return String.join( // only the calls' lines: the JVM may warn on stderr
                "\n",
                out.lines()
                        .filter(l -> l.startsWith("OK ") || l.startsWith("ERR "))
                        .toList());
    }

    private static String service(String name, String vip, String selector) {
        return """
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: %s, namespace: test}
                spec: {clusterIP: %s, ports: [{name: http, port: 80, targetPort: http}], selector: %s}
                ---
                """.formatted(name, vip, selector);
    }

    /** nginx on each endpoint address, answering with what it received: which backend, path, host, a header. */
    private void startEcho() throws Exception {
        StringBuilder servers = new StringBuilder();
        String[][] eps = {{"10.244.1.3", "v1"}, {"10.244.1.4", "v1"}, {"10.244.1.5", "v2"}};
        for (String[] ep : eps) {
            servers.append("""
                    server { listen %s:8080;
                      location / { add_header X-Remove upstream-set; return 200 "backend=%s ep=%s path=$request_uri host=$host tp=$http_traceparent ts=$http_tracestate b3=$http_x_b3_traceid/$http_x_b3_spanid rid=$http_x_request_id added=$http_x_added removed=$http_x_remove\\n"; } }
                    """.formatted(ep[0], ep[1], ep[0]));
        }
        Files.createDirectories(dir.resolve("tmp"));
        Path conf = Files.writeString(dir.resolve("echo.conf"), """
                user root; worker_processes 1; master_process off; daemon off; pid %1$s/echo.pid;
                error_log stderr warn;
                events { worker_connections 256; }
                http { access_log off; client_body_temp_path %1$s/tmp; proxy_temp_path %1$s/tmp;
                  fastcgi_temp_path %1$s/tmp; uwsgi_temp_path %1$s/tmp; scgi_temp_path %1$s/tmp;
                  keepalive_requests 100000;
                  %2$s }
                """.formatted(dir, servers));
        web.start(new ProcessBuilder("nginx", "-c", conf.toString(), "-e", "stderr")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("echo.log").toFile()));
        for (int i = 0; i < 50 && !web.exec("ss", "-Hltn", "sport = :8080").contains("10.244.1.5:8080"); i++) {
            Thread.sleep(100);
        }
    }

    /**
     * A deliberately unreliable upstream (Node.js, on both flaky endpoints, state shared across them as one
     * process): {@code /fail-once/ID} answers 503 the first time an ID is seen, {@code /reset-once/ID} resets the
     * connection the first time, {@code /always-503} always fails (and counts its hits, read at {@code /hits}),
     * {@code /slow/MS} answers after MS ms, {@code /slow-retry/ID} after 3 s the first time and at once after.
     */
    private void startFlaky() throws Exception {
        Path script = Files.writeString(dir.resolve("flaky.js"), """
                const http = require('http');
                const seen = new Set();
                let hits = 0;
                let bigHits = 0;
                const big = Buffer.alloc(1024 * 1024, 'x');
                function first(id) { if (seen.has(id)) return false; seen.add(id); return true; }
                function handler(req, res) {
                  const [, kind, arg] = req.url.split('/');
                  const answer = (code, body) => { res.writeHead(code, {'content-type': 'text/plain'}); res.end(body + '\\n'); };
                  if (kind === 'hits') return answer(200, String(hits));
                  if (kind === 'bighits') return answer(200, String(bigHits));
                  if (kind === 'big') { bigHits++; res.writeHead(200, {'content-length': big.length}); return res.end(big); }
                  if (kind === 'always-503') { hits++; return answer(503, 'failing'); }
                  if (kind === 'fail-once') return first(arg) ? answer(503, 'first') : answer(200, 'recovered ' + arg);
                  if (kind === 'reset-once') {
                    if (first('reset-' + arg)) { req.socket.destroy(); return; }
                    return answer(200, 'recovered ' + arg);
                  }
                  if (kind === 'slow') return setTimeout(() => answer(200, 'slow'), Number(arg));
                  if (kind === 'slow-retry') {
                    return setTimeout(() => answer(200, 'fast enough ' + arg), first('slow-' + arg) ? 3000 : 0);
                  }
                  answer(404, 'unknown');
                }
                for (const ip of ['10.244.1.6', '10.244.1.7']) {
                  http.createServer(handler).listen(8080, ip);
                }
                """);
        web.start(new ProcessBuilder("node", script.toString())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("flaky.log").toFile()));
        for (int i = 0; i < 50 && !web.exec("ss", "-Hltn", "sport = :8080").contains("10.244.1.7:8080"); i++) {
            Thread.sleep(100);
        }
    }

    private String curl(String... args) throws Exception {
        String[] cmd = new String[args.length + 4];
        cmd[0] = "curl";
        cmd[1] = "-sS";
        cmd[2] = "--max-time";
        cmd[3] = "10";
        System.arraycopy(args, 0, cmd, 4, args.length);
        return client.exec(cmd);
    }

    @Test
    void meshHttpRouteMatching() throws Exception {
        assertThat(curl("http://10.96.0.20/v2/example"))
                .startsWith("backend=v2")
                .contains("path=/v2/example");
        assertThat(curl("-H", "version: one", "http://10.96.0.20/anything")).startsWith("backend=v1");
        // a Service with no route: its own endpoints, parsed and counted as HTTP all the same
        assertThat(curl("http://10.96.0.23/x")).startsWith("backend=v1");
    }

    @Test
    void meshHttpRouteBackendRequestHeaderModifier() throws Exception {
        String out = curl("-i", "-H", "X-Remove: client-set", "http://10.96.0.20/v2");
        assertThat(out).contains("added=yes").contains("removed=\n").containsIgnoringCase("X-Route: v2-path");
    }

    @Test
    void meshHttpRouteRedirectPath() throws Exception {
        String out = curl("-i", "http://10.96.0.20/old?q=1");
        assertThat(out).startsWith("HTTP/1.1 301").containsIgnoringCase("location: http://10.96.0.20/new?q=1");
    }

    @Test
    void meshHttpRouteRewritePath() throws Exception {
        assertThat(curl("http://10.96.0.20/prefix/one/two"))
                .startsWith("backend=v1")
                .contains("path=/one/two")
                .contains("host=rewritten.example");
    }

    @Test
    void unknownBackendAnswers500() throws Exception {
        assertThat(curl("-o", "/dev/null", "-w", "%{http_code}", "http://10.96.0.20/missing"))
                .isEqualTo("500");
    }

    @Test
    void meshHttpRouteWeight() throws Exception {
        // 1,000 requests over keep-alive connections (curl reuses its connection across a URL range)
        // into a file: 1,000 bodies are more than a pipe holds while the harness waits for curl to exit
        Path bodies = dir.resolve("split.txt");
        client.exec("sh", "-c", "curl -sS --max-time 60 'http://10.96.0.20/split/[1-1000]' > " + bodies);
        String out = Files.readString(bodies);
        long v1 = out.lines().filter(l -> l.startsWith("backend=v1")).count();
        long v2 = out.lines().filter(l -> l.startsWith("backend=v2")).count();
        assertThat(v1 + v2).isEqualTo(1000);
        // 90/10 over 1,000 draws: sd = 9.5, so 100 ± 40 holds with p > 0.9999
        assertThat(v2).isBetween(60L, 140L);
        // the per-request balancer spreads v1 over both of its endpoints
        assertThat(out).contains("ep=10.244.1.3").contains("ep=10.244.1.4");
        String metrics = agent.scrape();
        assertThat(PromText.sum(
                        metrics,
                        "istio_requests_total",
                        Map.of(
                                "reporter", "source",
                                "source_workload", "client",
                                "destination_service", "echo-v2.test.svc.cluster.local",
                                "response_code", "200",
                                "request_protocol", "http")))
                .isGreaterThanOrEqualTo((double) v2);
        assertThat(metrics).contains("istio_request_duration_milliseconds_bucket");
    }

    @Test
    void badRequestIsAnswered400AndClosed() throws Exception {
        String out = client.exec(
                "sh", "-c", "printf 'NOT HTTP AT ALL\\r\\n\\r\\n' | timeout 5 socat -t 3 - TCP:10.96.0.20:80");
        assertThat(out).startsWith("HTTP/1.1 400");
    }

    private double retries(String reason, String outcome) throws Exception {
        return retries("flaky", reason, outcome);
    }

    private double retries(String service, String reason, String outcome) throws Exception {
        return PromText.sum(
                agent.scrape(),
                "ferry_http_retries_total",
                Map.of(
                        "destination_service", service + ".test.svc.cluster.local",
                        "reason", reason,
                        "outcome", outcome));
    }

    @Test
    void retryOn503Recovers() throws Exception {
        double before = retries("status", "retried");
        assertThat(curl("-i", "http://10.96.0.24/fail-once/a1"))
                .startsWith("HTTP/1.1 200")
                .contains("recovered a1");
        assertThat(retries("status", "retried")).isEqualTo(before + 1);
    }

    @Test
    void resetBeforeAnswerIsRetried() throws Exception {
        double before = retries("reset", "retried");
        assertThat(curl("http://10.96.0.24/reset-once/r1")).isEqualTo("recovered r1\n");
        assertThat(retries("reset", "retried")).isEqualTo(before + 1);
    }

    @Test
    void retryBudgetStopsARetryStorm() throws Exception {
        // a Service of its own: the storm spends its budget, not the one the other retry tests need
        int before = Integer.parseInt(curl("http://10.96.0.24/hits").trim());
        Path codes = dir.resolve("storm.txt");
        client.exec(
                "sh",
                "-c",
                "curl -sS --max-time 120 -o /dev/null -w '%{http_code}\\n' 'http://10.96.0.25/always-503/[1-300]' > "
                        + codes);
        assertThat(Files.readAllLines(codes)).hasSize(300).allMatch("503"::equals);
        int hits = Integer.parseInt(curl("http://10.96.0.24/hits").trim()) - before;
        // three retries each would be 1,200 hits; the budget allows 300 x 0.2 + 10/s over its 10 s window (100),
        // (the storm takes a few seconds, well inside the window)
        assertThat(hits).isGreaterThan(300).isLessThanOrEqualTo(300 + 60 + 100 + 10);
        assertThat(retries("storm", "status", "budget_exhausted")).isGreaterThan(0);
    }

    @Test
    void requestTimeoutAnswers504() throws Exception {
        long t0 = System.nanoTime();
        String out = curl("-o", "/dev/null", "-w", "%{http_code}", "http://10.96.0.24/slow/3000");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(out).isEqualTo("504");
        assertThat(ms).isLessThan(2500);
        assertThat(PromText.sum(
                        agent.scrape(),
                        "istio_requests_total",
                        Map.of(
                                "destination_service",
                                "flaky.test.svc.cluster.local",
                                "response_code",
                                "504",
                                "response_flags",
                                "UT")))
                .isGreaterThanOrEqualTo(1);
    }

    @Test
    void backendRequestTimeoutIsRetried() throws Exception {
        long t0 = System.nanoTime();
        assertThat(curl("http://10.96.0.24/slow-retry/s1")).isEqualTo("fast enough s1\n");
        assertThat((System.nanoTime() - t0) / 1_000_000).isLessThan(2500);
        assertThat(retries("timeout", "retried")).isGreaterThanOrEqualTo(1);
    }

    @Test
    void consistentHashOnAHeaderFromADestinationRule() throws Exception {
        java.util.Set<String> all = new java.util.HashSet<>();
        for (int u = 0; u < 12; u++) {
            Path out = dir.resolve("hash-" + u + ".txt");
            client.exec(
                    "sh",
                    "-c",
                    "curl -sS --max-time 20 -H 'x-user: user-" + u + "' 'http://10.96.0.21/h/[1-10]' > " + out);
            java.util.Set<String> eps = new java.util.HashSet<>();
            for (String line : Files.readAllLines(out)) {
                eps.add(line.replaceAll(".* ep=(\\S+) .*", "$1"));
            }
            assertThat(eps).as("user-" + u + " always lands on one endpoint").hasSize(1);
            all.addAll(eps);
        }
        // twelve users over two endpoints all on one: (1/2)^11
        assertThat(all).containsExactlyInAnyOrder("10.244.1.3", "10.244.1.4");
    }

    /**
     * Request smuggling and malformed framing, each from a raw socket: one 400 and the connection closed, and the
     * bytes after the bad request never read as a second request (a smuggled request would get its own answer). The
     * upstream is nginx, which refuses many of these itself: the answer must be Ferry's.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.CsvSource(
            delimiter = '|',
            value = {
                "Content-Length with Transfer-Encoding|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 5\\r\\n"
                        + "Transfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n",
                "two Content-Lengths|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\n",
                "equal Content-Lengths twice|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 5\\r\\nContent-Length: 5\\r\\n\\r\\n",
                "Content-Length not a number|POST / HTTP/1.1\\r\\nHost: a\\r\\nContent-Length: 5x\\r\\n\\r\\n",
                "Transfer-Encoding not ending in chunked|POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: gzip\\r\\n\\r\\n",
                "Transfer-Encoding twice|POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\n"
                        + "Transfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n",
                "bad chunk size|POST / HTTP/1.1\\r\\nHost: a\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nhello\\r\\n0\\r\\n\\r\\n",
                "bare LF line ends|GET / HTTP/1.1\\nHost: a\\n\\n",
                "bare CR in a header|GET / HTTP/1.1\\r\\nHost: a\\r\\nX-A: one\\rtwo\\r\\n\\r\\n",
                "space before the colon|GET / HTTP/1.1\\r\\nHost : a\\r\\n\\r\\n",
                "no Host|GET / HTTP/1.1\\r\\n\\r\\n",
                "two Hosts|GET / HTTP/1.1\\r\\nHost: a\\r\\nHost: b\\r\\n\\r\\n",
                "a bad header name|GET / HTTP/1.1\\r\\nHost: a\\r\\nX[A]: b\\r\\n\\r\\n"
            })
    void smugglingAndBadFramingAre400AndClose(String name, String request) throws Exception {
        Map<String, String> dpe = Map.of(
                "destination_service", "plain.test.svc.cluster.local", "response_code", "400", "response_flags", "DPE");
        double before = PromText.sum(agent.scrape(), "istio_requests_total", dpe);
        Path raw = dir.resolve("raw.bin");
        Files.writeString(
                raw, request.replace("\\r", "\r").replace("\\n", "\n") + "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
        String out =
                client.exec("sh", "-c", "timeout 10 socat -t 5 - TCP:10.96.0.23:80 < " + raw + "; echo; echo closed");
        // answered by Ferry, before any upstream saw it (nginx would reject most of these itself)
        assertThat(out).as(name).startsWith("HTTP/1.1 400").contains("closed").doesNotContainIgnoringCase("nginx");
        assertThat(out.split("HTTP/1\\.1 ", -1)).as(name + ": one answer only").hasSize(2);
        // counted, as Envoy counts a downstream protocol error
        assertThat(PromText.sum(agent.scrape(), "istio_requests_total", dpe)).isEqualTo(before + 1);
    }

    private static long closedAfter(String out) {
        var m = java.util.regex.Pattern.compile("closed (\\d+)").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void slowlorisGets408AtTheHeadTimeout() throws Exception {
        // half a head, then nothing for longer than the 1 s head timeout; the time is when socat saw the close
        String out = client.exec(
                "sh",
                "-c",
                "s=$(date +%s%N); (printf 'GET / HTTP/1.1\\r\\nHost: a\\r\\nX-Slow: '; sleep 4)"
                        + " | (timeout 10 socat -t 0.5 - TCP:10.96.0.23:80; echo; echo closed $(( ($(date +%s%N) - s) / 1000000 )))");
        long ms = closedAfter(out);
        assertThat(out).startsWith("HTTP/1.1 408").contains("closed");
        assertThat(ms)
                .as("closed at the head timeout, before the client gave up")
                .isBetween(800L, 3000L);
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAtTheIdleTimeout() throws Exception {
        String out = client.exec(
                "sh",
                "-c",
                "s=$(date +%s%N); (printf 'GET /idle HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'; sleep 8)"
                        + " | (timeout 15 socat -t 0.5 - TCP:10.96.0.23:80; echo; echo closed $(( ($(date +%s%N) - s) / 1000000 )))");
        long ms = closedAfter(out);
        assertThat(out).startsWith("HTTP/1.1 200").contains("closed");
        assertThat(ms).as("closed by the 3 s idle timeout, not by the client").isBetween(2500L, 7500L);
    }

    /**
     * HTTP/2's keep-alive: a connection whose streams are over is closed with GOAWAY at the idle timeout, counted
     * from its last stream's end; one that never opens a stream (a preface, then nothing) the same. Node's own
     * HTTP/2 client, so the GOAWAY is read by a real stack.
     */
    @Test
    void anIdleHttp2ConnectionIsClosedWithGoawayAtTheIdleTimeout() throws Exception {
        Path script = Files.writeString(dir.resolve("h2idle.js"), """
                const http2 = require('http2');
                const s = http2.connect('http://10.96.0.27:50051');
                let answered = 0;
                s.on('goaway', (code) => console.log('goaway ' + code + ' after ' + (Date.now() - answered)));
                s.on('close', () => { console.log('closed ' + (Date.now() - answered)); process.exit(0); });
                s.on('error', (e) => console.log('error ' + e.message));
                const r = s.request({':path': '/x'});
                r.on('response', (h) => { answered = Date.now(); console.log('status ' + h[':status']); });
                r.resume();
                r.end();
                setTimeout(() => { console.log('still open'); process.exit(1); }, 12000);
                """);
        String out = client.exec("sh", "-c", "timeout 20 node " + script + "; true");
        assertThat(out).contains("status ").contains("goaway 0 after");
        assertThat(closedAfter(out)).as(out).isBetween(2500L, 7500L);

        String silent = client.exec(
                "sh",
                "-c",
                "s=$(date +%s%N); (printf 'PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n\\000\\000\\000\\004\\000\\000\\000\\000\\000';"
                        + " sleep 10) | (timeout 15 socat -t 0.5 - TCP:10.96.0.27:50051 | od -An -v -tx1 | tr -d ' \\n';"
                        + " echo; echo closed $(( ($(date +%s%N) - s) / 1000000 )))");
        assertThat(silent.lines().findFirst().orElse(""))
                .as("the agent's GOAWAY (length 8, type 7, NO_ERROR) after its SETTINGS")
                .contains("0000080700" + "00000000" + "00000000" + "00000000");
        assertThat(closedAfter(silent)).as(silent).isBetween(2500L, 7500L);
    }

    @Test
    void aClientThatNeverReadsCostsBoundedWork() throws Exception {
        int before = Integer.parseInt(curl("http://10.96.0.24/bighits").trim());
        Path script = Files.writeString(dir.resolve("nonreader.js"), """
                const net = require('net');
                const s = net.connect(80, '10.96.0.24', () => {
                  s.pause(); // never read a byte of the answers
                  let req = '';
                  for (let i = 0; i < 30; i++) req += 'GET /big/' + i + ' HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n';
                  s.write(req);
                  setTimeout(() => { s.destroy(); process.exit(0); }, 3000);
                });
                """);
        client.exec("timeout", "20", "node", script.toString());
        int served = Integer.parseInt(curl("http://10.96.0.24/bighits").trim()) - before;
        // 30 MiB asked for; what was fetched is what the socket buffers hold, not one answer per request
        assertThat(served).isGreaterThan(0).isLessThan(25);
        assertThat(curl("http://10.96.0.23/still-serving")).startsWith("backend=v1");
    }

    /**
     * RFC 9112 5.2 lets a server either refuse an obs-fold with 400 or replace it with spaces before forwarding;
     * Netty's decoder does the latter, so the upstream sees one unfolded field and no line of its own.
     */
    @Test
    void anObsFoldIsUnfoldedBeforeForwarding() throws Exception {
        String out = client.exec(
                "sh",
                "-c",
                "printf 'GET /fold HTTP/1.1\\r\\nHost: a\\r\\nX-Added: one\\r\\n two\\r\\nConnection: close\\r\\n\\r\\n'"
                        + " | timeout 10 socat -t 5 - TCP:10.96.0.23:80");
        assertThat(out).startsWith("HTTP/1.1 200").contains("added=one two ");
    }

    @Test
    void traceHeadersPassUntouchedAndARequestIdIsAddedWhenAbsent() throws Exception {
        String tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        ListAppender<ILoggingEvent> accessLog = new ListAppender<>();
        accessLog.start();
        Logger access = (Logger) LoggerFactory.getLogger("ferry.access");
        access.addAppender(accessLog);
        String out;
        try {
            out = curl(
                    "-H",
                    "traceparent: " + tp,
                    "-H",
                    "tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
                    "-H",
                    "X-B3-TraceId: 80f198ee56343ba864fe8b2a57d3eff7",
                    "-H",
                    "X-B3-SpanId: e457b5a2e4d86bd1",
                    "-H",
                    "x-request-id: keep-me-1",
                    "http://10.96.0.23/trace");
            // the request's own access-log line (the log is on by default): written when the answer is out
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (requestLine(accessLog, "keep-me-1") == null && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        } finally {
            access.detachAppender(accessLog);
        }
        assertThat(requestLine(accessLog, "keep-me-1"))
                .contains("\"method\":\"GET\"", "\"path\":\"/trace\"", "\"response_code\":200")
                .contains("\"protocol\":\"HTTP/1.1\"", "\"attempts\":1");
        assertThat(out)
                .contains("tp=" + tp + " ")
                .contains("ts=congo=t61rcWkgMzE,rojo=00f067aa0ba902b7 ")
                .contains("b3=80f198ee56343ba864fe8b2a57d3eff7/e457b5a2e4d86bd1 ")
                .contains("rid=keep-me-1 ");
        assertThat(curl("http://10.96.0.23/trace"))
                .containsPattern("rid=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} ");
    }

    private static String requestLine(ListAppender<ILoggingEvent> log, String requestId) {
        synchronized (log) { // the appender appends under its own lock (AppenderBase.doAppend)
            return log.list.stream()
                    .map(ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.contains("\"x_request_id\":\"" + requestId + "\""))
                    .findFirst()
                    .orElse(null);
        }
    }

    /**
     * An unnamed TCP port stays on the L4 path, and its DestinationRule applies per connection: hashed on the
     * source IP, every connection of the one client lands on the same endpoint (round robin would alternate).
     */
    @Test
    void aDestinationRuleAppliesToL4ConnectionsToo() throws Exception {
        java.util.Set<String> eps = new java.util.HashSet<>();
        for (int i = 0; i < 8; i++) {
            // a new connection each time, relayed as bytes: nginx sees Ferry's L4 path, not its HTTP layer
            String out = curl("-H", "Connection: close", "http://10.96.0.26:81/l4");
            eps.add(out.replaceAll(".* ep=(\\S+) .*\\n?", "$1"));
        }
        assertThat(eps).hasSize(1);
    }

    /**
     * gRPC through the source's node hop, h2c prior knowledge both ways: each call of one client connection is a
     * request of its own, routed by a GRPCRoute (a header match to one backend, weights 1:0 to the other) and sent as
     * a stream on a pooled HTTP/2 upstream connection; statuses come from the trailers (or a trailers-only answer)
     * and are counted with {@code request_protocol="grpc"} and {@code grpc_response_status}.
     */
    @Test
    void meshGrpcRouteWeightAndHeaderMatching() throws Exception {
        Map<String, String> okA = Map.of(
                "reporter", "source",
                "request_protocol", "grpc",
                "grpc_response_status", "0",
                "response_code", "200",
                "destination_service", "grpc-a.test.svc.cluster.local");
        Map<String, String> okB =
                Map.of("grpc_response_status", "0", "destination_service", "grpc-b.test.svc.cluster.local");
        Map<String, String> notFound = Map.of("request_protocol", "grpc", "grpc_response_status", "5");
        String before = agent.scrape(); // other tests call these Services too
        String plain = grpcCall("10.96.0.27:50051", "ok:1", "ok:2", "ok:3", "ok:4", "ok:5", "status:5");
        assertThat(plain.lines().limit(5)).allMatch(l -> l.startsWith("OK /10.244.1.8:50051 ok:"));
        assertThat(plain.lines().skip(5)).containsExactly("ERR NOT_FOUND");
        String canary = grpcCall("10.96.0.27:50051", "-H", "x-canary=yes", "ok:6", "ok:7");
        assertThat(canary.lines()).containsExactly("OK /10.244.1.9:50051 ok:6", "OK /10.244.1.9:50051 ok:7");
        String after = agent.scrape();
        // the backend the route chose, as Istio reports it
        assertThat(PromText.sum(after, "istio_requests_total", okA) - PromText.sum(before, "istio_requests_total", okA))
                .isEqualTo(5);
        assertThat(PromText.sum(after, "istio_requests_total", okB) - PromText.sum(before, "istio_requests_total", okB))
                .isEqualTo(2);
        assertThat(PromText.sum(after, "istio_requests_total", notFound)
                        - PromText.sum(before, "istio_requests_total", notFound))
                .isEqualTo(1);
    }

    /**
     * An HTTP/2 request without a body (HEADERS with END_STREAM, which Netty hands over whole) from curl with prior
     * knowledge, to the gRPC port: the server's own answer comes back (it refuses a GET), not a 503 of Ferry's.
     */
    @Test
    void h2cRequestWithoutABodyReachesTheServer() throws Exception {
        String code =
                curl("-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge", "http://10.96.0.27:50051/x");
        assertThat(code).isIn("405", "415");
    }

    /**
     * A call and an answer of a megabyte each: both outgrow HTTP/2's 64 KiB stream windows, so each direction moves
     * only as its windows are given back (the client's by the agent, as the upstream takes the body).
     */
    @Test
    void aLargeGrpcCallAndItsAnswerPassWhole() throws Exception {
        String out = grpcCall("10.96.0.27:50051", "big:1048576", "ok:after-big");
        assertThat(out.lines()).hasSize(2);
        String big = out.lines().findFirst().orElseThrow();
        assertThat(big).startsWith("OK /10.244.1.8:50051 big:1048580 bytes=");
        assertThat(Long.parseLong(big.substring(big.indexOf("bytes=") + 6))).isGreaterThan(1048580);
        assertThat(out.lines().skip(1)).containsExactly("OK /10.244.1.8:50051 ok:after-big");
    }

    /**
     * A call its client gives up on (the deadline passes: RST_STREAM CANCEL) ends that stream only: the same
     * connection's next call is served, and the abandoned one is counted as the client's disconnect (DC).
     */
    @Test
    void aCallTheClientCancelsEndsOnlyItsStream() throws Exception {
        Map<String, String> dc = Map.of("destination_service", "grpc-a.test.svc.cluster.local", "response_flags", "DC");
        double before = PromText.sum(agent.scrape(), "istio_requests_total", dc);
        String out = grpcCall("10.96.0.27:50051", "-deadline", "1000", "sleep:3000", "ok:after-cancel");
        assertThat(out.lines()).containsExactly("ERR DEADLINE_EXCEEDED", "OK /10.244.1.8:50051 ok:after-cancel");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (PromText.sum(agent.scrape(), "istio_requests_total", dc) < before + 1 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(PromText.sum(agent.scrape(), "istio_requests_total", dc)).isEqualTo(before + 1);
    }

    /**
     * A stream whose head breaks a limit (more header fields than allowed) is answered 431 on that stream; the
     * connection is not closed: nghttp's second request on it is answered too (curl 7.88 cannot reuse an h2c
     * connection with prior knowledge: it fails with a framing error even against nginx).
     */
    @Test
    void anH2RequestOverTheHeaderLimitIsRefusedOnItsStreamOnly() throws Exception {
        java.util.List<String> cmd =
                new java.util.ArrayList<>(java.util.List.of("timeout", "10", "nghttp", "-v", "-n"));
        for (int i = 0; i <= RequestChecks.MAX_HEADERS; i++) {
            cmd.addAll(java.util.List.of("-H", "x-many-" + i + ": v"));
        }
        cmd.addAll(java.util.List.of("http://10.96.0.27:50051/x", "http://10.96.0.27:50051/y"));
        String out = client.exec(cmd.toArray(String[]::new));
        assertThat(out.lines().filter(l -> l.contains(":status: 431"))).hasSize(2);
        assertThat(out).doesNotContain("recv GOAWAY").doesNotContain("recv RST_STREAM");
    }

    /** A trailers-only UNAVAILABLE is retried as the route's 503 would be, and the call succeeds. */
    @Test
    void grpcUnavailableRetriedByTheRoute() throws Exception {
        String out = grpcCall("10.96.0.30:50051", "fail-once:a", "fail-once:b");
        assertThat(out.lines()).allMatch(l -> l.startsWith("OK ")).hasSize(2);
        assertThat(PromText.sum(
                        agent.scrape(),
                        "ferry_http_retries_total",
                        Map.of(
                                "destination_service", "grpc-retry.test.svc.cluster.local",
                                "reason", "status",
                                "outcome", "retried")))
                .isEqualTo(2);
    }
}
