package dev.ferry.agent.support;

import dev.ferry.agent.config.ConfigException;
import dev.ferry.agent.config.NodeConfig;
import dev.ferry.agent.config.NodeConfigLoader;
import dev.ferry.agent.lifecycle.Agent;
import dev.ferry.agent.net.OriginalDestination;
import dev.ferry.time.Ticker;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An in-process agent on loopback with ephemeral ports. Nothing is redirected on loopback, so the test says what
 * the "original destination" of the next connections is (the only mocked piece, since a redirect needs netfilter;
 * the netns tests cover the real SO_ORIGINAL_DST).
 */
public final class AgentFixture implements AutoCloseable {
    public final Agent agent;
    public final AtomicReference<InetSocketAddress> originalDestination = new AtomicReference<>();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public AgentFixture(String transport, Path meshFile, Map<String, String> overrides)
            throws ConfigException, IOException, InterruptedException {
        this(transport, meshFile, overrides, null);
    }

    /** @param clock a manual clock the connections' timeouts follow (null: the system clock) */
    public AgentFixture(String transport, Path meshFile, Map<String, String> overrides, ManualTimers clock)
            throws ConfigException, IOException, InterruptedException {
        Map<String, String> env = new HashMap<>();
        env.put("FERRY_NODE_NAME", "node-1");
        env.put("FERRY_MESH_FILE", meshFile.toString());
        // "epoll+splice" = the epoll transport with the splice relay
        env.put("FERRY_TRANSPORT", transport.replace("+splice", ""));
        env.put("FERRY_RELAY", transport.endsWith("+splice") ? "splice" : "copy");
        env.put("FERRY_EVENT_LOOPS", "2");
        env.put("FERRY_OUTBOUND_PORT", "0");
        env.put("FERRY_INBOUND_PORT", "0");
        env.put("FERRY_ADMIN_PORT", "0");
        env.put("FERRY_METRICS_PORT", "0");
        env.put("FERRY_READINESS_PORT", "0");
        env.put("FERRY_METRICS_ADDRESS", "127.0.0.1");
        env.put("FERRY_MESH_POLL_INTERVAL", "200ms");
        // The in-process agent runs in the test machine's own namespace: its probe rule would land there. Tests
        // that exercise it name a node namespace (FERRY_HOST_NETNS) and turn it on.
        env.put("FERRY_PROBE_SNAT", "off");
        env.putAll(overrides);
        env.remove("FERRY_TEST_REAL_ORIGINAL_DST");
        NodeConfig config = NodeConfigLoader.load(null, env);
        OriginalDestination od = ch -> {
            InetSocketAddress a = originalDestination.get();
            if (a == null) {
                throw new OriginalDestination.OriginalDestinationException("test set no original destination");
            }
            return a;
        };
        // FERRY_TEST_REAL_ORIGINAL_DST=true: the kernel's SO_ORIGINAL_DST (namespace tests with real redirects)
        boolean real = "true".equals(overrides.get("FERRY_TEST_REAL_ORIGINAL_DST"));
        agent = clock == null
                ? new Agent(config, Ticker.system(), real ? null : od, () -> {})
                : new Agent(config, clock.ticker(), clock, real ? null : od, () -> {});
        agent.start();
    }

    public String get(InetSocketAddress endpoint, String path) throws IOException, InterruptedException {
        return send(endpoint, path, "GET").body();
    }

    public HttpResponse<String> send(InetSocketAddress endpoint, String path, String method)
            throws IOException, InterruptedException {
        URI uri = URI.create("http://127.0.0.1:" + endpoint.getPort() + path);
        HttpRequest req = HttpRequest.newBuilder(uri)
                .method(method, HttpRequest.BodyPublishers.noBody())
                .timeout(Duration.ofSeconds(10))
                .build();
        return http.send(req, HttpResponse.BodyHandlers.ofString());
    }

    public String scrape() throws IOException, InterruptedException {
        return get(agent.metricsAddress(), "/metrics");
    }

    @Override
    public void close() {
        agent.close();
        http.close();
    }
}
