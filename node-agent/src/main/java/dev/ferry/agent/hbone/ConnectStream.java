package dev.ferry.agent.hbone;

import dev.ferry.agent.proxy.RelayContext;
import dev.ferry.agent.proxy.TunnelRelay;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
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
 * One inbound HBONE stream until its tunnel is up: a {@code CONNECT} whose {@code :authority} must be an IP literal
 * equal to this pod's IP with a port that is not one of Ferry's own (else 400); authorized with the peer's verified
 * identity (else 401); then {@link TunnelRelay} connects to the app from the peer's IP (else 503) and, after the 200,
 * relays — this handler leaves the pipeline then. Nothing flows before the 200.
 */
final class ConnectStream extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConnectStream.class);

    private final RelayContext pod;
    private final Workload workload;
    private final PeerIdentity peer;
    private final Set<Integer> ownPorts;
    private boolean requested;
    private boolean tunnel;

    ConnectStream(RelayContext pod, Workload workload, PeerIdentity peer, Set<Integer> ownPorts) {
        this.pod = pod;
        this.workload = workload;
        this.peer = peer;
        this.ownPorts = ownPorts;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame h && !requested) {
            requested = true;
            request(ctx, h);
            return;
        }
        // Bytes before the 200, or a second HEADERS: nothing flows before the tunnel is up.
        ReferenceCountUtil.release(msg);
        if (!tunnel) {
            respond(ctx, "400", "data before the tunnel was established");
        }
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
        InetSocketAddress target = HboneAuthority.parse(authority, workload.ips(), ownPorts);
        if (target == null) {
            respond(
                    ctx,
                    "400",
                    "authority '" + dev.ferry.net.IpLiteral.abbreviate(authority)
                            + "' is not this pod's IP with an application port");
            return;
        }
        AuthzContext context = new AuthzContext(
                peer.address().getAddress(),
                peer.identity().principal(),
                peer.identity().namespace(),
                workload.namespace(),
                workload.labels(),
                target.getPort(),
                null);
        Decision d = pod.authz().get().check(context);
        pod.metrics().authzDecision(d.allowed(), d.policy());
        String peerUri = peer.identity().uri();
        String podUri = workload.identity(peer.identity().trustDomain()).uri();
        if (!d.allowed()) {
            respond(ctx, "401", d.reason());
            TunnelRelay.denied(pod, ctx.channel(), workload, peer.address(), peerUri, podUri, context, d, target);
            return;
        }
        tunnel = true;
        TunnelRelay.connect(
                pod,
                ctx.channel(),
                workload,
                peer.address(),
                peerUri,
                podUri,
                context,
                d,
                target,
                () -> {
                    ctx.pipeline().remove(this); // from here on the relay owns the stream
                    ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                },
                why -> respond(ctx, "503", why));
    }

    private void respond(ChannelHandlerContext ctx, String status, String why) {
        log.debug("HBONE {} from {} to {}: {} {}", ctx.channel(), peer.identity(), workload.key(), status, why);
        // a complete answer, then RST_STREAM for the rest of the request (RFC 9113 8.1): the stream is done
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status(status), true))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HBONE stream to {}: {}", workload.key(), cause.toString());
        ctx.close();
    }
}
