package dev.ferry.agent.hbone;

import dev.ferry.agent.connection.InboundTunnel;
import dev.ferry.agent.connection.TunnelAnswer;
import dev.ferry.mesh.Workload;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inbound HBONE stream until its CONNECT is parsed: the {@code :authority} must be an IP literal equal to this
 * pod's IP with a port that is not one of Ferry's own (else 400). A valid CONNECT is handed, with the peer's verified
 * identity, to the proxy's inbound path, which authorizes it (401), connects the app (503) and relays after the 200;
 * this handler leaves the pipeline then. DATA that follows the CONNECT before the 200 (an optimistic client sends it
 * right behind the headers) is not lost: reads stop at the CONNECT, so later frames wait in the stream, bounded by
 * its flow-control window, and those of the same read are held by the inbound path until the app is connected.
 */
final class ConnectStream extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConnectStream.class);

    private final HboneListener pod;
    private final Workload workload;
    private final PeerIdentity peer;
    private final Set<Integer> ownPorts;

    ConnectStream(HboneListener pod, Workload workload, PeerIdentity peer, Set<Integer> ownPorts) {
        this.pod = pod;
        this.workload = workload;
        this.peer = peer;
        this.ownPorts = ownPorts;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame h) {
            request(ctx, h);
            return;
        }
        // DATA before any HEADERS: not a tunnel
        ReferenceCountUtil.release(msg);
        respond(ctx, "400", "data before the CONNECT request");
    }

    private void request(ChannelHandlerContext ctx, Http2HeadersFrame h) {
        // The listener's workload may predate the control plane learning the pod's IP: read the current one.
        Workload workload = pod.snapshot()
                .get()
                .workload(this.workload.namespace(), this.workload.name())
                .orElse(this.workload);
        String method = String.valueOf(h.headers().method());
        String authority = String.valueOf(h.headers().authority());
        if (!"CONNECT".equals(method)) {
            respond(ctx, "400", "method " + method + " is not CONNECT");
            return;
        }
        if (h.isEndStream()) {
            respond(ctx, "400", "CONNECT without a stream to carry (END_STREAM on its headers)");
            return;
        }
        InetSocketAddress target = HboneAuthority.parse(authority, workload.ips(), ownPorts);
        if (target == null) {
            respond(
                    ctx,
                    "400",
                    "authority '" + dev.ferry.net.IpLiteral.abbreviate(authority)
                            + "' is not this pod's IP with an application port");
            return;
        }
        // From here the stream is a tunnel: no more reads until the app is connected, bytes as a socket's.
        ctx.channel().config().setAutoRead(false);
        ctx.pipeline().addLast("frames", new StreamFrameAdapter());
        ctx.pipeline().remove(this);
        pod.inbound()
                .accept(new InboundTunnel(
                        ctx.channel(),
                        "hbone/" + workload.key(),
                        workload,
                        peer.address(),
                        peer.identity(),
                        workload.identity(peer.identity().trustDomain()).uri(),
                        target,
                        new Answer(ctx)));
    }

    /** The CONNECT's answer, written on the stream (this handler has left its pipeline by then). */
    private final class Answer implements TunnelAnswer {
        private final ChannelHandlerContext ctx;

        Answer(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void established() {
            ctx.channel().writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
        }

        @Override
        public void denied(String why) {
            respond(ctx, "401", why);
        }

        @Override
        public void failed(String why) {
            respond(ctx, "503", why);
        }
    }

    private void respond(ChannelHandlerContext ctx, String status, String why) {
        log.debug("HBONE {} from {} to {}: {} {}", ctx.channel(), peer.identity(), workload.key(), status, why);
        // a complete answer, then RST_STREAM for the rest of the request (RFC 9113 8.1): the stream is done
        ctx.channel()
                .writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status(status), true))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HBONE stream to {}: {}", workload.key(), cause.toString());
        ctx.close();
    }
}
