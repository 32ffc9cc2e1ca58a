package dev.ferry.mesh.kube;

import dev.ferry.health.Heartbeat;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The agent's HTTP client of the Kubernetes API: HTTP/1.1 over TLS on one Netty event loop of its own (the agent's
 * Netty, so no second HTTP stack and no second TLS stack is loaded for the control plane). One connection per request
 * or watch; a watch is a long-lived streamed response ({@link WatchStream}). Every callback runs on {@link #loop()},
 * which is never one of the data plane's loops; its liveness is beaten into a heartbeat every second.
 */
public final class KubeHttp implements AutoCloseable {
    /** Connecting, TLS included: an API server that does not answer in this long is unreachable for this attempt. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private static final int MAX_HEADER_BYTES = 64 * 1024;

    private final ApiServer server;
    private final EventLoopGroup group;
    private final SslContext ssl;

    public KubeHttp(ApiServer server, Heartbeat heartbeat) throws IOException {
        this.server = server;
        this.ssl = server.tls() ? sslContext(server) : null;
        this.group = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("kube-api", true), NioIoHandler.newFactory());
        group.next().scheduleAtFixedRate(heartbeat::beat, 0, 1, TimeUnit.SECONDS);
    }

    private static SslContext sslContext(ApiServer server) throws IOException {
        SslContextBuilder b = SslContextBuilder.forClient();
        if (server.insecure()) {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        } else {
            b.endpointIdentificationAlgorithm("HTTPS");
            if (server.caPem() != null) {
                b.trustManager(new ByteArrayInputStream(server.caPem()));
            }
        }
        if (server.clientCertPem() != null) {
            b.keyManager(
                    new ByteArrayInputStream(server.clientCertPem()), new ByteArrayInputStream(server.clientKeyPem()));
        }
        try {
            return b.build();
        } catch (IOException | IllegalArgumentException e) {
            throw new IOException("API server " + server + ": TLS configuration unusable: " + e.getMessage(), e);
        }
    }

    /** The loop every callback of this client runs on (and where a watch's retries are scheduled). */
    public EventLoop loop() {
        return group.next();
    }

    public String url() {
        return server.toString();
    }

    public ApiServer server() {
        return server;
    }

    /**
     * One request and its whole answer.
     *
     * @param body the request body, or null
     * @param maxBytes the largest answer accepted; a larger one fails the request (a list is paged to stay under it)
     * @param timeout from the request's start to its last byte
     */
    public CompletableFuture<KubeResponse> send(
            HttpMethod method, String path, String contentType, byte[] body, int maxBytes, Duration timeout) {
        CompletableFuture<KubeResponse> result = new CompletableFuture<>();
        FullHttpRequest request = request(method, path, contentType, body);
        Channel ch = open(() -> new ResponseHandler(maxBytes, result), request, result::completeExceptionally);
        var timer = loop().schedule(
                        () -> result.completeExceptionally(new KubeApiException(
                                0, "no answer to " + method + " " + path + " within " + timeout.toSeconds() + " s")),
                        timeout.toMillis(),
                        TimeUnit.MILLISECONDS);
        result.whenComplete((r, e) -> {
            timer.cancel(false);
            ch.close(); // one request per connection: done, or given up on
        });
        return result;
    }

    /** A watch (or any streamed answer): its lines go to the listener as they arrive. */
    public WatchStream watch(String path, Duration idle, int maxLineBytes, WatchStream.Listener listener) {
        WatchStream stream = new WatchStream(listener, idle, maxLineBytes);
        Channel ch = open(stream::handler, request(HttpMethod.GET, path, null, null), stream::failed);
        stream.bind(ch);
        return stream;
    }

    private FullHttpRequest request(HttpMethod method, String path, String contentType, byte[] body) {
        FullHttpRequest r = new DefaultFullHttpRequest(
                HttpVersion.HTTP_1_1,
                method,
                path,
                body == null ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        r.headers()
                .set(HttpHeaderNames.HOST, server.authority())
                .set(HttpHeaderNames.ACCEPT, HttpHeaderValues.APPLICATION_JSON)
                .set(HttpHeaderNames.USER_AGENT, "ferry-agent")
                .set(HttpHeaderNames.CONTENT_LENGTH, body == null ? 0 : body.length);
        if (contentType != null) {
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        }
        String token = server.token().value();
        if (!token.isEmpty()) {
            r.headers().set(HttpHeaderNames.AUTHORIZATION, "Bearer " + token);
        }
        return r;
    }

    /** Connects and sends; the handler gets the answer; a failure to connect goes to {@code failed}. */
    private Channel open(
            Supplier<ChannelHandler> handler, FullHttpRequest request, java.util.function.Consumer<Throwable> failed) {
        Bootstrap b = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc(), server.host(), server.port()));
                        }
                        ch.pipeline().addLast(new HttpClientCodec(4096, MAX_HEADER_BYTES, 64 * 1024));
                        ch.pipeline().addLast(handler.get());
                    }
                });
        ChannelFuture connect = b.connect(server.host(), server.port());
        connect.addListener(f -> {
            if (f.isSuccess()) {
                connect.channel().writeAndFlush(request).addListener(w -> {
                    if (!w.isSuccess()) {
                        failed.accept(unreachable(w.cause()));
                        connect.channel().close();
                    }
                });
            } else {
                request.release();
                failed.accept(unreachable(f.cause()));
            }
        });
        return connect.channel();
    }

    /** A failure with no HTTP answer, named by its root cause. */
    static KubeApiException unreachable(Throwable t) {
        if (t instanceof KubeApiException k) {
            return k;
        }
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return new KubeApiException(root.toString(), t);
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
