package dev.ferry.mesh.kube;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real kube-apiserver (v1.20.2, built from Debian's source package by {@code tools/kube-apiserver.sh}) with a real
 * etcd (Debian's {@code etcd-server}), both on loopback at free ports, in a temporary directory removed on close.
 * Authentication by a static token file: {@link #ADMIN_TOKEN} is in {@code system:masters}; {@link #AGENT_TOKEN} is
 * the DaemonSet's service account, with no rights until a test binds it a role; authorization is RBAC.
 */
public final class KubeApiServer implements AutoCloseable {
    public static final String ADMIN_TOKEN = "ferry-test-admin";
    public static final String AGENT_TOKEN = "ferry-test-agent";
    public static final String AGENT_USER = "system:serviceaccount:ferry-system:ferry-agent";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    private final Path dir;
    private final int etcdPort;
    private final int etcdPeerPort;
    private final int apiPort;
    private final boolean watchCache;
    private Process etcd;
    private Process api;

    /** The binary: {@code FERRY_KUBE_APISERVER}, else where {@code tools/kube-apiserver.sh} caches it. */
    public static Path binary() {
        String env = System.getenv("FERRY_KUBE_APISERVER");
        Path p = Path.of(env != null && !env.isEmpty() ? env : "/var/cache/ferry/kube-apiserver-1.20.2");
        if (!Files.isExecutable(p)) {
            throw new IllegalStateException("no kube-apiserver at " + p
                    + ": run tools/kube-apiserver.sh (make test does) to build it from Debian's source package");
        }
        return p;
    }

    /** @param watchCache false sends every watch to etcd, so a compacted revision answers {@code 410 Gone} */
    public static KubeApiServer start(boolean watchCache) throws IOException, InterruptedException {
        KubeApiServer s = new KubeApiServer(Files.createTempDirectory("ferry-kube-"), watchCache);
        // a test JVM stopped from outside (a surefire timeout) still takes its etcd and API server with it
        Runtime.getRuntime().addShutdownHook(new Thread(s::closeQuietly, "kube-apiserver-cleanup"));
        try {
            s.startEtcd();
            s.startApi();
            return s;
        } catch (IOException | InterruptedException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    private KubeApiServer(Path dir, boolean watchCache) throws IOException {
        this.dir = dir;
        this.watchCache = watchCache;
        this.etcdPort = freePort();
        this.etcdPeerPort = freePort();
        this.apiPort = freePort();
        Files.writeString(
                dir.resolve("tokens.csv"),
                ADMIN_TOKEN + ",admin,1,\"system:masters\"\n" + AGENT_TOKEN + "," + AGENT_USER
                        + ",2,\"system:serviceaccounts,system:serviceaccounts:ferry-system\"\n");
        run(List.of("openssl", "genrsa", "-out", dir.resolve("sa.key").toString(), "2048"));
        run(List.of(
                "openssl",
                "rsa",
                "-in",
                dir.resolve("sa.key").toString(),
                "-pubout",
                "-out",
                dir.resolve("sa.pub").toString()));
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void run(List<String> cmd) throws IOException {
        try {
            Process p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("setup.log").toFile())
                    .start();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException(cmd + " failed: " + Files.readString(dir.resolve("setup.log")));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private void startEtcd() throws IOException, InterruptedException {
        etcd = new ProcessBuilder(
                        "etcd",
                        "--data-dir",
                        dir.resolve("etcd").toString(),
                        "--listen-client-urls",
                        "http://127.0.0.1:" + etcdPort,
                        "--advertise-client-urls",
                        "http://127.0.0.1:" + etcdPort,
                        "--listen-peer-urls",
                        "http://127.0.0.1:" + etcdPeerPort,
                        "--initial-advertise-peer-urls",
                        "http://127.0.0.1:" + etcdPeerPort,
                        "--initial-cluster",
                        "default=http://127.0.0.1:" + etcdPeerPort)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("etcd.log").toFile())
                .start();
        await(
                "etcd",
                () -> get("http://127.0.0.1:" + etcdPort + "/health", null).contains("true"),
                etcd);
    }

    /** Starts the API server (again, at the same port, after {@link #stopApi()}). */
    public void startApi() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(
                binary().toString(),
                "--etcd-servers=http://127.0.0.1:" + etcdPort,
                "--secure-port=" + apiPort,
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                "--insecure-port=0",
                "--token-auth-file=" + dir.resolve("tokens.csv"),
                "--authorization-mode=RBAC",
                "--service-account-key-file=" + dir.resolve("sa.pub"),
                "--service-account-signing-key-file=" + dir.resolve("sa.key"),
                "--service-account-issuer=https://kubernetes.default.svc",
                "--cert-dir=" + dir.resolve("certs"),
                "--service-cluster-ip-range=10.96.0.0/16",
                // no controller-manager runs here to create service-account tokens
                "--disable-admission-plugins=ServiceAccount"));
        if (!watchCache) {
            cmd.add("--watch-cache=false");
        }
        api = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("kube-apiserver.log").toFile()))
                .start();
        await("kube-apiserver", () -> "ok".equals(get(url() + "/readyz", ADMIN_TOKEN)), api);
    }

    /** Stops the API server only (etcd keeps the data), as an outage of the control plane would. */
    public void stopApi() throws InterruptedException {
        stop(api);
        api = null;
    }

    public String url() {
        return "https://127.0.0.1:" + apiPort;
    }

    /** The serving certificate the API server made itself at its first start (self-signed: it is its own CA). */
    public Path servingCertificate() {
        return dir.resolve("certs/apiserver.crt");
    }

    public int apiPort() {
        return apiPort;
    }

    /** The agent's client with the given token (the serving certificate is self-signed, made at the server's start). */
    public KubeHttp agentClient(String token) throws IOException {
        return agentClient(url(), token);
    }

    public static KubeHttp agentClient(String url, String token) throws IOException {
        return new KubeHttp(
                ApiServer.withToken(url, true, token),
                new dev.ferry.health.Heartbeat("kube-api", dev.ferry.time.Ticker.system()));
    }

    /** An operator's client with the given token (fabric8's, test scope: it creates what the agent reads). */
    public KubernetesClient client(String token) {
        return client(url(), token);
    }

    public static KubernetesClient client(String url, String token) {
        Config config = new ConfigBuilder(Config.empty())
                .withMasterUrl(url)
                .withOauthToken(token)
                .withTrustCerts(true) // the API server's self-signed serving certificate, made at its start
                .withRequestTimeout(10_000)
                .withConnectionTimeout(5_000)
                .withWatchReconnectInterval(200)
                .withRequestRetryBackoffLimit(0) // as the agent configures it
                .build();
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /** Compacts etcd's history up to now: a watch resuming from before it gets {@code 410 Gone}. */
    public void compactEtcd() throws IOException {
        String range = post("/v3/kv/range", "{\"key\":\"Lw==\",\"limit\":1}");
        Matcher m = Pattern.compile("\"revision\":\"(\\d+)\"").matcher(range);
        if (!m.find()) {
            throw new IOException("no revision in etcd's answer: " + range);
        }
        post("/v3/kv/compaction", "{\"revision\":\"" + m.group(1) + "\",\"physical\":true}");
    }

    private String post(String path, String body) throws IOException {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + etcdPort + path))
                                    .timeout(Duration.ofSeconds(10))
                                    .POST(HttpRequest.BodyPublishers.ofString(body))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                throw new IOException("etcd " + path + ": HTTP " + r.statusCode() + " " + r.body());
            }
            return r.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private interface Probe {
        boolean ok() throws Exception;
    }

    private void await(String what, Probe probe, Process p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IOException(what + " exited with " + p.exitValue() + ": " + tail(what));
            }
            try {
                if (probe.ok()) {
                    return;
                }
            } catch (Exception e) {
                // not up yet
            }
            Thread.sleep(200);
        }
        throw new IOException(what + " not ready within " + START_TIMEOUT + ": " + tail(what));
    }

    private String tail(String what) throws IOException {
        Path log = dir.resolve(what + ".log");
        if (!Files.exists(log)) {
            return "(no log)";
        }
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
    }

    private static String get(String url, String token) throws Exception {
        var ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(
                null,
                new javax.net.ssl.TrustManager[] {
                    new javax.net.ssl.X509TrustManager() {
                        @Override
                        public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) {}

                        @Override
                        public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) {}

                        @Override
                        public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                            return new java.security.cert.X509Certificate[0];
                        }
                    }
                },
                null);
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newBuilder()
                .sslContext(ctx)
                .build()
                .send(b.build(), HttpResponse.BodyHandlers.ofString())
                .body();
    }

    private static void stop(Process p) throws InterruptedException {
        if (p == null) {
            return;
        }
        p.destroy();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException | InterruptedException | RuntimeException e) {
            // best effort at JVM exit
        }
    }

    @Override
    public synchronized void close() throws IOException, InterruptedException {
        stop(api);
        stop(etcd);
        api = null;
        etcd = null;
        if (!Files.exists(dir)) {
            return; // closed before
        }
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(f -> f.toFile().delete());
        }
    }
}
