package dev.ferry.agent.hbone;

import dev.ferry.agent.identity.CertificateValidator;
import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.agent.net.SocketFactory;
import dev.ferry.mesh.Identity;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Outbound HBONE: CONNECT streams on pooled HTTP/2-over-mTLS connections to the destination pod's 15008. A
 * connection is keyed by (source identity, source IP, destination identity, destination address) — the socket lives
 * in the source pod's namespace — and by event loop, so a stream shares its downstream socket's thread. At most
 * {@value HboneLimits#MAX_CONCURRENT_STREAMS} streams per connection; an idle connection is closed after
 * {@link #IDLE_SECONDS} s; a quiet connection is PINGed and closed when the ACK does not come ({@link Keepalive}). The server must present exactly the expected identity.
 */
public final class HboneClient {
    private static final Logger log = LoggerFactory.getLogger(HboneClient.class);
    static final long IDLE_SECONDS = 60;
    /** Quiet time before a PING, and how long its ACK may take. */
    static final java.time.Duration KEEPALIVE = java.time.Duration.ofSeconds(30);

    static final java.time.Duration KEEPALIVE_TIMEOUT = java.time.Duration.ofSeconds(10);

    /** Why a tunnel could not be opened; the caller maps it to a close reason. */
    public static final class HboneException extends Exception {
        private static final long serialVersionUID = 1L;

        public enum Kind {
            TLS,
            IDENTITY,
            DENIED,
            REFUSED,
            /** The stream ended, or could not open, before the server answered the CONNECT. */
            UNANSWERED
        }

        private final Kind kind;

        HboneException(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
        }
    }

    private record Key(
            Identity source, InetAddress sourceIp, Identity destination, InetSocketAddress address, EventLoop loop) {}

    /** One pooled connection; touched only on its event loop. */
    private static final class Connection {
        final Channel channel;
        final Promise<Channel> ready;
        int streams;
        /** The server sent GOAWAY: no new stream goes here. */
        boolean goingAway;

        Connection(Channel channel, Promise<Channel> ready) {
            this.channel = channel;
            this.ready = ready;
        }
    }

    private final HboneTls tls;
    private final Map<Key, List<Connection>> pool = new ConcurrentHashMap<>();

    public HboneClient(HboneTls tls) {
        this.tls = tls;
    }

    /**
     * Opens a CONNECT stream to {@code authority} through {@code destination}'s HBONE port; completes on {@code loop}
     * once the server answered 200 (the stream then carries the tunnel's bytes as DATA frames, auto-read off).
     */
    public Future<Http2StreamChannel> open(
            SocketFactory sockets,
            EventLoop loop,
            WorkloadCertificate source,
            InetAddress sourceIp,
            Identity destination,
            InetSocketAddress hbone,
            String authority) {
        Promise<Http2StreamChannel> result = loop.newPromise();
        Key key = new Key(source.identity(), sourceIp, destination, hbone, loop);
        loop.execute(() -> attempt(key, sockets, source, authority, result, true));
        return result;
    }

    /**
     * One try on a pooled (or new) connection. A stream that its connection's end left unanswered — the server sent
     * GOAWAY (an agent draining in a rolling replacement) or closed — was never served: it is tried once more, on a
     * fresh connection, which reaches the new agent.
     */
    private void attempt(
            Key key,
            SocketFactory sockets,
            WorkloadCertificate source,
            String authority,
            Promise<Http2StreamChannel> result,
            boolean mayRetry) {
        Connection c = pick(key);
        if (c == null) {
            c = connect(key, sockets, source);
        }
        Connection conn = c;
        conn.streams++;
        Promise<Http2StreamChannel> tried = key.loop().newPromise();
        tried.addListener(f -> {
            if (f.isSuccess()) {
                if (!result.trySuccess(tried.getNow())) {
                    tried.getNow().close(); // the caller gave up meanwhile
                }
            } else if (mayRetry && !result.isDone() && goneAway(conn, f.cause())) {
                attempt(key, sockets, source, authority, result, false);
            } else {
                result.tryFailure(f.cause());
            }
        });
        conn.ready.addListener(f -> {
            if (!f.isSuccess()) {
                conn.streams--;
                tried.tryFailure(f.cause());
                return;
            }
            openStream(conn, key, authority, tried);
        });
    }

    /** Whether a failed stream failed because its connection is going (GOAWAY) or gone, not because of an answer. */
    private static boolean goneAway(Connection conn, Throwable cause) {
        return cause instanceof HboneException h
                && h.kind() == HboneException.Kind.UNANSWERED
                && (conn.goingAway || !conn.channel.isActive());
    }

    /** Keys with at least one pooled connection (for tests: empty keys are dropped). */
    int pooledKeys() {
        return pool.size();
    }

    private Connection pick(Key key) {
        List<Connection> list = pool.get(key);
        if (list == null) {
            return null;
        }
        list.removeIf(c -> !c.channel.isOpen() || c.goingAway);
        for (Connection c : list) {
            if (c.streams < HboneLimits.MAX_CONCURRENT_STREAMS) {
                return c;
            }
        }
        return null;
    }

    private Connection connect(Key key, SocketFactory sockets, WorkloadCertificate source) {
        Promise<Channel> ready = key.loop().newPromise();
        ChannelFuture cf = sockets.connect(key.loop(), key.address(), new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
                // pooled and long-lived: TCP keepalive from the start, also when the request's factory leaves it to
                // the relay's first idle check (SocketFactory#forRelay)
                sockets.keepalive(ch);
                SslHandler ssl = tls.client(source).newHandler(ch.alloc()); // no SNI: the destination is an IP
                ssl.setHandshakeTimeout(HboneServer.HANDSHAKE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                // many streams flush small DATA frames: coalesce them into fewer TLS records and syscalls
                ch.pipeline().addLast("flushes", new io.netty.handler.flush.FlushConsolidationHandler(256, true));
                ch.pipeline().addLast("tls", ssl);
                ch.pipeline()
                        .addLast("handshake", new ClientHandshake(key.destination(), ready, () -> goingAway(key, ch)));
            }
        });
        Connection c = new Connection(cf.channel(), ready);
        pool.computeIfAbsent(key, k -> new ArrayList<>()).add(c);
        cf.addListener(f -> {
            if (f.isSuccess()) {
                cf.channel().config().setAutoRead(true);
            } else {
                ready.tryFailure(new HboneException(
                        HboneException.Kind.REFUSED,
                        "connect to " + key.address() + ": " + f.cause().getMessage()));
            }
        });
        cf.channel().closeFuture().addListener(f -> {
            ready.tryFailure(new HboneException(HboneException.Kind.TLS, "connection to " + key.address() + " closed"));
            // The key goes with its last connection: source IPs and event loops are in it, so a pool that kept empty
            // keys would grow with every pod that ever ran.
            pool.computeIfPresent(key, (k, list) -> {
                list.remove(c);
                return list.isEmpty() ? null : list;
            });
        });
        return c;
    }

    /** On the connection's loop: GOAWAY received; later streams take another connection. */
    private void goingAway(Key key, Channel ch) {
        List<Connection> list = pool.get(key);
        if (list != null) {
            for (Connection c : list) {
                if (c.channel == ch) {
                    c.goingAway = true;
                }
            }
        }
    }

    private void openStream(Connection conn, Key key, String authority, Promise<Http2StreamChannel> result) {
        new Http2StreamChannelBootstrap(conn.channel)
                .handler(new ChannelInitializer<Http2StreamChannel>() {
                    @Override
                    protected void initChannel(Http2StreamChannel stream) {
                        stream.config().setAutoRead(false);
                        stream.pipeline().addLast("response", new ConnectResponse(result));
                    }
                })
                .open()
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        conn.streams--;
                        result.tryFailure(new HboneException(
                                HboneException.Kind.UNANSWERED,
                                "cannot open a stream: " + f.cause().getMessage()));
                        return;
                    }
                    Http2StreamChannel stream = (Http2StreamChannel) f.getNow();
                    stream.closeFuture().addListener(x -> released(conn));
                    DefaultHttp2Headers headers = new DefaultHttp2Headers();
                    headers.method("CONNECT").authority(authority);
                    headers.add("forwarded", "for=\"" + key.sourceIp().getHostAddress() + "\"");
                    headers.add("traceparent", traceparent());
                    stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers));
                    stream.read();
                });
    }

    private void released(Connection conn) {
        conn.streams--;
        if (conn.streams == 0) {
            conn.channel
                    .eventLoop()
                    .schedule(
                            () -> {
                                if (conn.streams == 0) {
                                    conn.channel.close(); // idle release
                                }
                            },
                            IDLE_SECONDS,
                            TimeUnit.SECONDS);
        }
    }

    /** A W3C traceparent for the tunnel: a fresh trace (propagation from the app is an L7 matter). */
    private static String traceparent() {
        byte[] trace = new byte[16];
        byte[] span = new byte[8];
        ThreadLocalRandom.current().nextBytes(trace);
        ThreadLocalRandom.current().nextBytes(span);
        return "00-" + HexFormat.of().formatHex(trace) + "-" + HexFormat.of().formatHex(span) + "-01";
    }

    /** After the handshake: the server must be exactly the expected identity; then HTTP/2. */
    private static final class ClientHandshake extends ChannelInboundHandlerAdapter {
        private final Identity expected;
        private final Promise<Channel> ready;
        private final Runnable onGoAway;

        ClientHandshake(Identity expected, Promise<Channel> ready, Runnable onGoAway) {
            this.expected = expected;
            this.ready = ready;
            this.onGoAway = onGoAway;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (!(evt instanceof SslHandshakeCompletionEvent done)) {
                super.userEventTriggered(ctx, evt);
                return;
            }
            if (!done.isSuccess()) {
                ready.tryFailure(new HboneException(HboneException.Kind.TLS, String.valueOf(done.cause())));
                ctx.close();
                return;
            }
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            String peer;
            try {
                List<String> uris = CertificateValidator.uriSans(
                        (X509Certificate) ssl.engine().getSession().getPeerCertificates()[0]);
                peer = uris.size() == 1 ? uris.getFirst() : String.valueOf(uris);
            } catch (Exception e) {
                peer = "unreadable: " + e.getMessage();
            }
            if (!expected.uri().equals(peer)) {
                ready.tryFailure(new HboneException(
                        HboneException.Kind.IDENTITY, "server is " + peer + ", expected " + expected.uri()));
                ctx.close();
                return;
            }
            if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
                ready.tryFailure(new HboneException(HboneException.Kind.TLS, "server did not agree to h2"));
                ctx.close();
                return;
            }
            Http2FrameCodec codec = HboneLimits.clientCodec();
            ctx.pipeline().addLast("h2", codec);
            ctx.pipeline().addLast("streams", new Http2MultiplexHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext c) {
                    c.close(); // server-initiated streams: none expected
                }
            }));
            HboneLimits.raiseConnectionWindow(codec);
            ctx.pipeline().addLast("goaway", new GoAwayWatch(onGoAway));
            ctx.pipeline().addLast("idle", new IdleStateHandler(0, 0, KEEPALIVE.toSeconds(), TimeUnit.SECONDS));
            ctx.pipeline().addLast("keepalive", new Keepalive(KEEPALIVE_TIMEOUT));
            ctx.pipeline().remove(this);
            ready.trySuccess(ctx.channel());
        }
    }

    /** Notes a GOAWAY on the connection (the multiplexer has already failed the streams above its last id). */
    private static final class GoAwayWatch extends ChannelInboundHandlerAdapter {
        private final Runnable onGoAway;

        GoAwayWatch(Runnable onGoAway) {
            this.onGoAway = onGoAway;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof io.netty.handler.codec.http2.Http2GoAwayFrame) {
                onGoAway.run();
                ReferenceCountUtil.release(msg);
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Waits for the CONNECT's answer: 200 opens the tunnel; anything else ends it, saying why. */
    private static final class ConnectResponse extends ChannelInboundHandlerAdapter {
        private final Promise<Http2StreamChannel> result;

        ConnectResponse(Promise<Http2StreamChannel> result) {
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame h) {
                String status = String.valueOf(h.headers().status());
                if ("200".equals(status)) {
                    ctx.pipeline().remove(this);
                    result.trySuccess((Http2StreamChannel) ctx.channel());
                    return;
                }
                result.tryFailure(new HboneException(
                        "401".equals(status) ? HboneException.Kind.DENIED : HboneException.Kind.REFUSED,
                        "CONNECT answered " + status));
                ctx.close();
                return;
            }
            ReferenceCountUtil.release(msg);
            result.tryFailure(new HboneException(HboneException.Kind.REFUSED, "bytes before the CONNECT answer"));
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.tryFailure(new HboneException(HboneException.Kind.UNANSWERED, "stream closed before an answer"));
        }
    }
}
