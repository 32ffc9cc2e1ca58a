package dev.ferry.agent.hbone;

import dev.ferry.agent.proxy.RelayContext;
import dev.ferry.mesh.Workload;
import dev.ferry.mesh.authz.AuthzContext;
import dev.ferry.mesh.authz.Decision;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One inbound HBONE stream: a {@code CONNECT} whose {@code :authority} must be an IP literal equal to this pod's IP
 * with a port that is not one of Ferry's own (else 400); authorized with the peer's verified identity (else 401);
 * then a connection to the app from the peer's IP (else 503), and only after the 200 do bytes flow, both ways, with
 * half-close: the stream's END_STREAM half-closes the app socket, the app's FIN ends the stream.
 */
final class ConnectStream extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConnectStream.class);

    private final RelayContext pod;
    private final Workload workload;
    private final PeerIdentity peer;
    private final Set<Integer> ownPorts;
    private Channel stream;
    private Channel upstream;
    private boolean requested;
    private boolean tunnel;
    private boolean sentEnd;

    ConnectStream(RelayContext pod, Workload workload, PeerIdentity peer, Set<Integer> ownPorts) {
        this.pod = pod;
        this.workload = workload;
        this.peer = peer;
        this.ownPorts = ownPorts;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        stream = ctx.channel();
        if (msg instanceof Http2HeadersFrame h && !requested) {
            requested = true;
            request(ctx, h);
            return;
        }
        if (msg instanceof Http2DataFrame d && tunnel) {
            boolean end = d.isEndStream();
            ByteBuf content = d.content().retain();
            d.release();
            if (content.isReadable()) {
                upstream.write(content);
            } else {
                content.release();
            }
            if (end) {
                upstream.flush();
                ((DuplexChannel) upstream).shutdownOutput();
            }
            return;
        }
        // Bytes before the 200, or a second HEADERS: nothing flows before the tunnel is up.
        ReferenceCountUtil.release(msg);
        if (!tunnel) {
            respond(ctx, "400", "data before the tunnel was established");
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (upstream != null) {
            upstream.flush();
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
        InetSocketAddress target = target(authority, workload);
        if (target == null) {
            respond(ctx, "400", "authority '" + authority + "' is not this pod's IP with an application port");
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
        if (!d.allowed()) {
            respond(ctx, "401", d.reason());
            return;
        }
        // from the peer's IP (IP_TRANSPARENT in the pod), any port: streams of one connection share the peer's
        pod.sockets()
                .connectAs(
                        ctx.channel().eventLoop(),
                        target,
                        new InetSocketAddress(peer.address().getAddress(), 0),
                        new Upstream())
                .addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        respond(
                                ctx,
                                "503",
                                "connect to " + target + " failed: " + f.cause().getMessage());
                        return;
                    }
                    upstream = f.channel();
                    if (!stream.isActive()) {
                        upstream.close();
                        return;
                    }
                    tunnel = true;
                    stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200")));
                    upstream.config().setAutoRead(true);
                });
    }

    /** The pod's IP and an application port from {@code ip:port} or {@code [v6]:port}; null when it is not. */
    private InetSocketAddress target(String authority, Workload workload) {
        int colon = authority.lastIndexOf(':');
        if (colon <= 0) {
            return null;
        }
        String host = authority.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(authority.substring(colon + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (port < 1 || port > 65535 || ownPorts.contains(port)) {
            return null;
        }
        if (!host.matches("^\\d{1,3}(\\.\\d{1,3}){3}$") && !(host.contains(":") && host.matches("^[0-9a-fA-F:.]+$"))) {
            return null; // IP literals only: a name would need DNS, and could name anything
        }
        try {
            InetAddress ip = InetAddress.getByName(host);
            return workload.ips().contains(ip) ? new InetSocketAddress(ip, port) : null;
        } catch (java.net.UnknownHostException e) {
            return null;
        }
    }

    private void respond(ChannelHandlerContext ctx, String status, String why) {
        log.debug("HBONE {} from {} to {}: {} {}", stream, peer.identity(), workload.key(), status, why);
        // a complete answer, then RST_STREAM for the rest of the request (RFC 9113 8.1): the stream is done
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status(status), true))
                .addListener(ChannelFutureListener.CLOSE);
        if (upstream != null) {
            upstream.close();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (upstream != null) {
            upstream.config().setAutoRead(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (upstream != null) {
            upstream.close(); // stream finished or reset
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("HBONE stream to {}: {}", workload.key(), cause.toString());
        ctx.close();
    }

    /** The app side: its bytes become DATA frames, its FIN the stream's END_STREAM. */
    private final class Upstream extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            stream.write(new DefaultHttp2DataFrame((ByteBuf) msg));
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            stream.flush();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent && !sentEnd) {
                sentEnd = true;
                stream.writeAndFlush(new DefaultHttp2DataFrame(true));
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            stream.config().setAutoRead(ctx.channel().isWritable());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!sentEnd && stream.isActive()) {
                stream.close(); // the app went away without a FIN: reset the stream
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
