package dev.ferry.mesh.kube;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.health.Heartbeat;
import dev.ferry.time.Ticker;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * GOAWAY on the API client's shared HTTP/2 connection, as kube-apiserver sends it with {@code --goaway-chance} (to
 * spread clients over the servers behind a load balancer): the open watch goes on, the next request opens a new
 * connection. Against a minimal HTTP/2 server of Netty's own codec, TLS with ALPN like the real one (which sends
 * GOAWAY only at random, so cannot be made to here on cue); here, in node-agent, for BouncyCastle's self-signed
 * certificate.
 */
class KubeHttpGoAwayTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** Answers every request; a watch gets one event and stays open, then the connection gets GOAWAY. */
    private static final class Server extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame h && h.isEndStream()) {
                    boolean watch = h.headers().path().toString().startsWith("/watch");
                    ctx.write(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false)
                            .stream(h.stream()));
                    String body = watch ? "{\"type\":\"ADDED\",\"object\":{}}\n" : "{\"major\":\"1\",\"minor\":\"31\"}";
                    ByteBuf data = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
                    ctx.write(new DefaultHttp2DataFrame(data, !watch).stream(h.stream()));
                    if (watch) {
                        ctx.write(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR)); // last stream: this watch
                    }
                    ctx.flush();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    @Test
    void aGoAwayKeepsTheOpenWatchAndSendsTheNextRequestToANewConnection() throws Exception {
        SelfSignedCertificate cert = new SelfSignedCertificate("localhost");
        SslContext tls = SslContextBuilder.forServer(cert.certificate(), cert.privateKey())
                .applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2))
                .build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline()
                                    .addLast(tls.newHandler(ch.alloc()))
                                    .addLast(Http2FrameCodecBuilder.forServer().build())
                                    .addLast(new Server());
                        }
                    })
                    .bind("127.0.0.1", 0)
                    .sync()
                    .channel();
            int port = ((InetSocketAddress) server.localAddress()).getPort();
            try (KubeHttp http = new KubeHttp(
                    ApiServer.withToken("https://127.0.0.1:" + port, true, "t"),
                    new Heartbeat("kube-api", Ticker.system()))) {
                List<String> events = new CopyOnWriteArrayList<>();
                http.watch("/watch", WAIT, 1 << 20, new WatchStream.Listener() {
                    @Override
                    public void opened() {
                        events.add("opened");
                    }

                    @Override
                    public void line(ByteBuf line) {
                        events.add(line.toString(StandardCharsets.UTF_8));
                    }

                    @Override
                    public void ended() {
                        events.add("ended");
                    }

                    @Override
                    public void failed(KubeApiException e) {
                        events.add("failed: " + e.getMessage());
                    }
                });
                long deadline = System.nanoTime() + WAIT.toNanos();
                while (events.size() < 2 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
                assertThat(events).containsExactly("opened", "{\"type\":\"ADDED\",\"object\":{}}");
                Thread.sleep(200); // the GOAWAY right behind the event

                KubeResponse r = http.send(HttpMethod.GET, "/version", null, null, 1 << 20, WAIT)
                        .get(WAIT.toSeconds(), TimeUnit.SECONDS);
                assertThat(r.status()).isEqualTo(200);
                assertThat(http.connections())
                        .as("the request went to a new connection")
                        .isEqualTo(2);
                assertThat(events).as("the watch on the old one goes on").hasSize(2);
            }
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
