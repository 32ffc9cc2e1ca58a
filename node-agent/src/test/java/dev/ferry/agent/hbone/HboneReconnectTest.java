package dev.ferry.agent.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connector.ConnectFailure;
import dev.ferry.agent.connector.ConnectRequest;
import dev.ferry.agent.identity.LocalCa;
import dev.ferry.agent.identity.Pki;
import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.agent.net.NativeSocketFactory;
import dev.ferry.agent.net.Transport;
import dev.ferry.mesh.Identity;
import dev.ferry.mesh.Workload;
import dev.ferry.time.Ticker;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The HBONE client's one retry and the connector's wait for a certificate, against a scripted HTTP/2-over-mTLS
 * server on loopback that presents the destination's real certificate and answers each connection's CONNECT as the
 * test says: a server that sends GOAWAY and closes without answering (an agent draining in a rolling replacement)
 * costs a stream one more connection, never an error; a server that answers with an error is not retried.
 */
class HboneReconnectTest {
    private static final String DOMAIN = "cluster.local";
    private static final Workload CLIENT = pod("client");
    private static final Workload WEB = pod("web");

    /** What the server does with a CONNECT on its n-th connection (from 1). */
    private enum Answer {
        OK,
        GOAWAY_AND_CLOSE,
        UNAVAILABLE
    }

    private final LocalCa ca = LocalCa.inMemory(DOMAIN, Ticker.system());
    private final AtomicInteger accepted = new AtomicInteger();
    private EventLoopGroup group;
    private Channel server;

    @BeforeEach
    void start() {
        group = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("hbone-reconnect-test", true));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void aStreamCutByGoAwayIsTriedOnceMoreOnAFreshConnection() throws Exception {
        serve(n -> n == 1 ? Answer.GOAWAY_AND_CLOSE : Answer.OK);
        Future<Channel> opened = opened(Duration.ofSeconds(5), id -> Optional.of(certificate(id)));
        assertThat(opened.isSuccess()).as(String.valueOf(opened.cause())).isTrue();
        assertThat(accepted).hasValue(2);
        opened.getNow().close();
    }

    @Test
    void onlyOnceAndNeverAfterAnAnswer() throws Exception {
        serve(n -> Answer.GOAWAY_AND_CLOSE);
        Future<Channel> opened = opened(Duration.ofSeconds(5), id -> Optional.of(certificate(id)));
        assertThat(opened.cause()).isInstanceOf(ConnectFailure.class);
        assertThat(((ConnectFailure) opened.cause()).reason()).isEqualTo(CloseReason.CONNECT_REFUSED);
        assertThat(accepted).hasValue(2);

        server.close().sync();
        accepted.set(0);
        serve(n -> Answer.UNAVAILABLE);
        Future<Channel> refused = opened(Duration.ofSeconds(5), id -> Optional.of(certificate(id)));
        assertThat(refused.cause()).hasMessageContaining("CONNECT answered 503");
        assertThat(accepted).hasValue(1);
    }

    @Test
    void aFirstConnectionWaitsForItsCertificate() throws Exception {
        serve(n -> Answer.OK);
        WorkloadCertificate issued = certificate(CLIENT.identity(DOMAIN));
        AtomicInteger asked = new AtomicInteger();
        // the certificate arrives on the 5th look (~80 ms in): the connection must not fail before it
        Future<Channel> opened = opened(
                Duration.ofSeconds(5), id -> asked.incrementAndGet() < 5 ? Optional.empty() : Optional.of(issued));
        assertThat(opened.isSuccess()).as(String.valueOf(opened.cause())).isTrue();
        assertThat(asked).hasValue(5);
        opened.getNow().close();
    }

    @Test
    void aCertificateThatNeverComesIsATlsFailureNamingThePod() throws Exception {
        serve(n -> Answer.OK);
        Future<Channel> opened = opened(Duration.ofMillis(200), id -> Optional.empty());
        assertThat(opened.cause()).isInstanceOf(ConnectFailure.class);
        assertThat(((ConnectFailure) opened.cause()).reason()).isEqualTo(CloseReason.TLS_FAILURE);
        assertThat(opened.cause()).hasMessageContaining(CLIENT.key()).hasMessageContaining("200 ms");
        assertThat(accepted).as("nothing dialled without a certificate").hasValue(0);
    }

    /** Opens a stream through a fresh client and connector, and waits (bounded) for the outcome. */
    private Future<Channel> opened(
            Duration wait, java.util.function.Function<Identity, Optional<WorkloadCertificate>> certificates)
            throws InterruptedException {
        Future<Channel> f = connector(wait, certificates).open(request());
        assertThat(f.await(10, TimeUnit.SECONDS)).as("outcome within 10 s").isTrue();
        return f;
    }

    private HboneConnector connector(
            Duration wait, java.util.function.Function<Identity, Optional<WorkloadCertificate>> certificates) {
        HboneClient client = new HboneClient(new HboneTls(() -> List.of(ca.certificate()), Ticker.system(), DOMAIN));
        return new HboneConnector(client, certificates, DOMAIN, wait);
    }

    private ConnectRequest request() {
        var sockets =
                new NativeSocketFactory(Transport.EPOLL, Duration.ofSeconds(5), false, Duration.ofSeconds(60), false);
        InetAddress loopback = InetAddress.getLoopbackAddress();
        // the HBONE port is fixed (15008): the server binds it on a loopback address of its own
        return new ConnectRequest(
                sockets,
                group.next(),
                new InetSocketAddress(serverAddress(), 8080),
                null,
                CLIENT,
                loopback,
                WEB,
                new ChannelInboundHandlerAdapter());
    }

    /** 127.0.0.0/8 is all loopback: an address of its own keeps 15008 free of any other test's listener. */
    private static InetAddress serverAddress() {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 80, 8});
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    private void serve(IntFunction<Answer> script) throws Exception {
        HboneTls tls = new HboneTls(() -> List.of(ca.certificate()), Ticker.system(), DOMAIN);
        var serverTls = tls.server(certificate(WEB.identity(DOMAIN)));
        server = new ServerBootstrap()
                .group(group)
                .channel(Transport.EPOLL.serverChannel())
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        Answer answer = script.apply(accepted.incrementAndGet());
                        ch.pipeline().addLast(serverTls.newHandler(ch.alloc()));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                if (evt instanceof SslHandshakeCompletionEvent done && done.isSuccess()) {
                                    ctx.pipeline().addLast(HboneLimits.serverCodec(), new Script(answer));
                                    ctx.pipeline().remove(this);
                                }
                            }
                        });
                    }
                })
                .bind(new InetSocketAddress(serverAddress(), HboneServer.HBONE_PORT))
                .sync()
                .channel();
    }

    /** Answers the CONNECT on the connection level of the frame codec (no multiplexer needed for one stream). */
    private static final class Script extends ChannelInboundHandlerAdapter {
        private final Answer answer;

        Script(Answer answer) {
            this.answer = answer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2HeadersFrame h
                    && "CONNECT".contentEquals(h.headers().method())) {
                switch (answer) {
                    case OK ->
                        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"))
                                .stream(h.stream()));
                    case UNAVAILABLE ->
                        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("503"), true)
                                .stream(h.stream()));
                    case GOAWAY_AND_CLOSE ->
                        ctx.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR))
                                .addListener(f -> ctx.close());
                }
            }
            ReferenceCountUtil.release(msg);
        }
    }

    private WorkloadCertificate certificate(Identity id) {
        try {
            KeyPair keys = Pki.newKeyPair();
            return new WorkloadCertificate(id, keys.getPrivate(), ca.sign(Pki.csr(keys, id), id, Duration.ofHours(1)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static Workload pod(String name) {
        return new Workload("u-" + name, name, "shop", name, List.of(), "node-1", Map.of(), Map.of(), true, true, true);
    }
}
