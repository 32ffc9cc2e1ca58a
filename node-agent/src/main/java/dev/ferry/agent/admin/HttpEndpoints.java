package dev.ferry.agent.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A small HTTP server for the control endpoints (admin, metrics, readiness): off the data path, low rate, so the
 * JDK's server on one thread each is enough and keeps them independent of the relay's event loops. Binds on
 * construction; serves only after {@link #start()} (bind everything, then serve).
 */
public final class HttpEndpoints implements AutoCloseable {
    private final HttpServer server;
    private final ExecutorService executor;

    public HttpEndpoints(String name, InetSocketAddress address) throws IOException {
        this.server = HttpServer.create(address, 64);
        this.executor = Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name(name).unstarted(r));
        server.setExecutor(executor);
    }

    public HttpServer server() {
        return server;
    }

    public InetSocketAddress address() {
        return server.getAddress();
    }

    public void start() {
        server.start();
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    static void respond(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
        ex.close();
    }

    static void text(HttpExchange ex, int status, String body) throws IOException {
        respond(ex, status, "text/plain; charset=utf-8", body);
    }
}
