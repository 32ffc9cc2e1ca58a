package dev.ferry.agent.hbone;

import dev.ferry.agent.identity.WorkloadCertificate;
import dev.ferry.agent.net.AcceptErrorHandler;
import dev.ferry.agent.observability.RateLimitedLog;
import dev.ferry.mesh.Workload;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A pod's inbound HBONE listener (15008, inside the pod's namespace, not redirected): TLS 1.3 with the pod's own
 * certificate (chosen by the listener, since it belongs to one pod — no SNI), a verified client certificate, ALPN
 * {@code h2}, then HTTP/2 whose streams are CONNECT tunnels to the pod's app ({@link ConnectStream}). A connection
 * arriving before the pod has a certificate is closed.
 */
public final class HboneServer {
    public static final int HBONE_PORT = dev.ferry.agent.net.MeshPorts.HBONE;

    private static final Logger log = LoggerFactory.getLogger(HboneServer.class);
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** Unauthenticated peers cause these at will: one line per second at most. */
    private static final RateLimitedLog REFUSALS =
            new RateLimitedLog(log, dev.ferry.time.Ticker.system(), Duration.ofSeconds(1));

    private HboneServer() {}

    /**
     * Binds {@code address} through the pod's socket factory (so the socket lives in the pod's namespace) and starts
     * serving.
     *
     * @param certificate the pod's current certificate, if it has one yet
     */
    public static ChannelFuture bind(
            HboneListener pod,
            EventLoopGroup group,
            InetSocketAddress address,
            Workload workload,
            Supplier<Optional<WorkloadCertificate>> certificate,
            HboneTls tls,
            String trustDomain,
            java.util.Set<Integer> ownPorts,
            io.netty.channel.group.ChannelGroup connections) {
        return pod.sockets()
                .listen(
                        group,
                        address,
                        new AcceptErrorHandler("hbone/" + workload.key(), pod.acceptErrors()),
                        new ChannelInitializer<>() {
                            @Override
                            protected void initChannel(Channel ch) {
                                // Counted from accept, before TLS: a source cannot hold the node with handshakes.
                                InetAddress source = ((InetSocketAddress) ch.remoteAddress()).getAddress();
                                String refused = pod.admit().apply(source);
                                if (refused != null) {
                                    REFUSALS.warn(
                                            "HBONE connection from {} to {} refused: {}",
                                            source.getHostAddress(),
                                            workload.key(),
                                            refused);
                                    ch.close();
                                    return;
                                }
                                ch.closeFuture().addListener(f -> pod.release().accept(source));
                                connections.add(ch); // removed by the group when it closes
                                Optional<WorkloadCertificate> cert = certificate.get();
                                if (cert.isEmpty()) {
                                    log.warn(
                                            "HBONE connection to {} before it has a certificate: closed",
                                            workload.key());
                                    ch.close();
                                    return;
                                }
                                ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false);
                                SslHandler ssl = tls.server(cert.get()).newHandler(ch.alloc());
                                ssl.setHandshakeTimeout(HANDSHAKE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                                // many streams flush small DATA frames: coalesce them into fewer TLS records and
                                // syscalls
                                ch.pipeline()
                                        .addLast(
                                                "flushes",
                                                new io.netty.handler.flush.FlushConsolidationHandler(256, true));
                                ch.pipeline().addLast("tls", ssl);
                                ch.pipeline().addLast("handshake", new Handshake(pod, workload, trustDomain, ownPorts));
                                ch.config().setAutoRead(true);
                            }
                        });
    }

    /** After the handshake: learn the peer's identity from its verified certificate, then speak HTTP/2. */
    private static final class Handshake extends ChannelInboundHandlerAdapter {
        /**
         * A failed handshake also fires its exception down the pipeline; unhandled, Netty logs it with a full stack
         * trace at the tail — per connection, for anyone who can connect. The completion event above has said it.
         */
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug(
                    "HBONE connection to {} from {}: {}",
                    workload.key(),
                    ctx.channel().remoteAddress(),
                    cause.toString());
            ctx.close();
        }

        private final HboneListener pod;
        private final Workload workload;
        private final String trustDomain;
        private final java.util.Set<Integer> ownPorts;

        Handshake(HboneListener pod, Workload workload, String trustDomain, java.util.Set<Integer> ownPorts) {
            this.pod = pod;
            this.workload = workload;
            this.trustDomain = trustDomain;
            this.ownPorts = ownPorts;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (!(evt instanceof SslHandshakeCompletionEvent done)) {
                super.userEventTriggered(ctx, evt);
                return;
            }
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (!done.isSuccess()) {
                REFUSALS.warn(
                        "HBONE handshake to {} from {} failed: {}",
                        workload.key(),
                        ctx.channel().remoteAddress(),
                        RateLimitedLog.rootMessage(done.cause()));
                ctx.close();
                return;
            }
            if (!ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
                ctx.close(); // BoringSSL cannot fail the handshake on an ALPN mismatch: refuse here
                return;
            }
            PeerIdentity peer;
            try {
                List<X509Certificate> chain = new ArrayList<>();
                for (var c : ssl.engine().getSession().getPeerCertificates()) {
                    chain.add((X509Certificate) c);
                }
                peer = PeerIdentity.of(
                        chain, trustDomain, (InetSocketAddress) ctx.channel().remoteAddress());
            } catch (SSLPeerUnverifiedException | IllegalArgumentException e) {
                log.info("HBONE peer of {} without a usable identity: {}", workload.key(), e.getMessage());
                ctx.close();
                return;
            }
            Http2FrameCodec codec = HboneLimits.serverCodec();
            ctx.pipeline().addLast("h2", codec);
            ctx.pipeline().addLast("streams", new Http2MultiplexHandler(new ChannelInitializer<Channel>() {
                @Override
                protected void initChannel(Channel stream) {
                    stream.pipeline().addLast(new ConnectStream(pod, workload, peer, ownPorts));
                }
            }));
            // A 16 MiB connection window instead of 64 KiB: bulk tunnels would otherwise stall on it.
            HboneLimits.raiseConnectionWindow(codec);
            ctx.pipeline().remove(this);
        }
    }
}
