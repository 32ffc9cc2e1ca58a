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
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The agent's HTTP client of the Kubernetes API, on one Netty event loop of its own (the agent's Netty and BoringSSL,
 * so no second HTTP or TLS stack is loaded for the control plane): every request and watch a stream of one shared
 * HTTP/2 connection ({@link H2Connection}, negotiated by ALPN), or, with a server that speaks only HTTP/1.1 (and plain
 * HTTP), a connection per request. A watch is a long-lived streamed response ({@link WatchStream}). Every callback
 * runs on {@link #loop()}, which is never one of the data plane's loops; its liveness is beaten into a heartbeat
 * every second.
 */
public final class KubeHttp implements AutoCloseable {
    /** Connecting, TLS included: an API server that does not answer in this long is unreachable for this attempt. */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private static final int MAX_HEADER_BYTES = 64 * 1024;

    private final ApiServer server;
    private final EventLoopGroup group;
    private final SslContext ssl;
    private final AtomicLong connections = new AtomicLong();
    private final Duration pingAfter;

    /** The shared HTTP/2 connection (confined to the loop); replaced when it closes. */
    private H2Connection h2;

    /** Plain HTTP, or a server that chose HTTP/1.1 once: a connection per request from then on (loop-confined). */
    private boolean http1Only;

    public KubeHttp(ApiServer server, Heartbeat heartbeat) throws IOException {
        this(server, heartbeat, H2Connection.PING_AFTER);
    }

    /** @param pingAfter how long a quiet HTTP/2 connection waits before it is pinged (the tests: a second) */
    KubeHttp(ApiServer server, Heartbeat heartbeat, Duration pingAfter) throws IOException {
        this.server = server;
        this.pingAfter = pingAfter;
        this.ssl = server.tls() ? sslContext(server) : null;
        this.http1Only = !server.tls(); // HTTP/2 is negotiated by TLS's ALPN; no cleartext HTTP/2 is tried
        this.group = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("kube-api", true), NioIoHandler.newFactory());
        group.next().scheduleAtFixedRate(heartbeat::beat, 0, 1, TimeUnit.SECONDS);
    }

    private static SslContext sslContext(ApiServer server) throws IOException {
        SslContextBuilder b = SslContextBuilder.forClient()
                .applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2,
                        ApplicationProtocolNames.HTTP_1_1));
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
        AtomicReference<Channel> channel = new AtomicReference<>();
        open(() -> new ResponseHandler(maxBytes, result), request, result::completeExceptionally, ch -> {
            channel.set(ch);
            if (result.isDone()) {
                ch.close(); // timed out while the stream or connection was still opening
            }
        });
        var timer = loop().schedule(
                        () -> result.completeExceptionally(new KubeApiException(
                                0, "no answer to " + method + " " + path + " within " + timeout.toSeconds() + " s")),
                        timeout.toMillis(),
                        TimeUnit.MILLISECONDS);
        result.whenComplete((r, e) -> {
            timer.cancel(false);
            Channel ch = channel.get();
            if (ch != null) {
                ch.close(); // the stream (or the HTTP/1.1 connection): done, or given up on
            }
        });
        return result;
    }

    /** A watch (or any streamed answer): its lines go to the listener as they arrive. */
    public WatchStream watch(String path, Duration idle, int maxLineBytes, WatchStream.Listener listener) {
        WatchStream stream = new WatchStream(loop(), listener, idle, maxLineBytes);
        open(stream::handler, request(HttpMethod.GET, path, null, null), stream::failed, stream::bind);
        return stream;
    }

    /** TCP connections opened so far (one for every request and watch when the server speaks only HTTP/1.1). */
    public long connections() {
        return connections.get();
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

    /**
     * Sends the request on a stream of the shared HTTP/2 connection, or on a connection of its own when the server
     * speaks only HTTP/1.1 (or plain HTTP); the handler gets the answer, {@code bound} the channel it arrives on,
     * and a failure before that goes to {@code failed}.
     */
    private void open(
            Supplier<ChannelHandler> handler,
            FullHttpRequest request,
            Consumer<Throwable> failed,
            Consumer<Channel> bound) {
        loop().execute(() -> {
            if (http1Only) {
                openHttp1(handler, request, failed, bound);
                return;
            }
            CompletableFuture<Channel> ready = connection();
            H2Connection used = h2;
            ready.whenComplete((parent, e) -> {
                if (e != null) {
                    request.release();
                    failed.accept(unreachable(e));
                } else if (parent == null) {
                    http1Only = true; // the server chose HTTP/1.1: a connection per request from now on
                    openHttp1(handler, request, failed, bound);
                } else {
                    openStream(used, parent, handler, request, failed, bound);
                }
            });
        });
    }

    /** The shared connection, connecting anew when there is none or it closed. On the loop. */
    private CompletableFuture<Channel> connection() {
        H2Connection c = h2;
        if (c != null && c.usable()) {
            return c.ready;
        }
        H2Connection fresh = new H2Connection(pingAfter);
        h2 = fresh;
        ChannelFuture connect = bootstrap(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc(), server.host(), server.port()));
                        ch.pipeline().addLast(fresh.negotiation());
                    }
                })
                .connect(server.host(), server.port());
        connect.addListener(f -> {
            if (f.isSuccess()) {
                connect.channel()
                        .closeFuture()
                        .addListener(x -> fresh.ready.completeExceptionally(
                                new KubeApiException(0, "the connection closed before it was ready")));
            } else {
                fresh.ready.completeExceptionally(unreachable(f.cause()));
            }
        });
        return fresh.ready;
    }

    private void openStream(
            H2Connection connection,
            Channel parent,
            Supplier<ChannelHandler> handler,
            FullHttpRequest request,
            Consumer<Throwable> failed,
            Consumer<Channel> bound) {
        new Http2StreamChannelBootstrap(parent)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false));
                        ch.pipeline().addLast(handler.get());
                    }
                })
                .open()
                .addListener(f -> {
                    if (f.isSuccess()) {
                        Channel stream = (Channel) f.getNow();
                        bound.accept(stream);
                        send(stream, request, e -> {
                            connection.draining = true; // its first frame refused (after GOAWAY): a new one next
                            failed.accept(e);
                        });
                    } else {
                        connection.draining = true; // refused a stream (GOAWAY, its stream limit): a new one next
                        request.release();
                        failed.accept(unreachable(f.cause()));
                    }
                });
    }

    private void openHttp1(
            Supplier<ChannelHandler> handler,
            FullHttpRequest request,
            Consumer<Throwable> failed,
            Consumer<Channel> bound) {
        ChannelFuture connect = bootstrap(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (ssl != null) {
                            ch.pipeline().addLast(ssl.newHandler(ch.alloc(), server.host(), server.port()));
                        }
                        ch.pipeline().addLast(new HttpClientCodec(4096, MAX_HEADER_BYTES, 64 * 1024));
                        ch.pipeline().addLast(handler.get());
                    }
                })
                .connect(server.host(), server.port());
        bound.accept(connect.channel());
        connect.addListener(f -> {
            if (f.isSuccess()) {
                send(connect.channel(), request, failed);
            } else {
                request.release();
                failed.accept(unreachable(f.cause()));
            }
        });
    }

    private Bootstrap bootstrap(ChannelInitializer<Channel> init) {
        connections.incrementAndGet();
        return new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) CONNECT_TIMEOUT.toMillis())
                .handler(init);
    }

    private static void send(Channel ch, FullHttpRequest request, Consumer<Throwable> failed) {
        ch.writeAndFlush(request).addListener(w -> {
            if (!w.isSuccess()) {
                failed.accept(unreachable(w.cause()));
                ch.close();
            }
        });
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
