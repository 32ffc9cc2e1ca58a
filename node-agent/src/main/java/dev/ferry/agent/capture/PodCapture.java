package dev.ferry.agent.capture;

import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.hbone.Hbone;
import dev.ferry.agent.hbone.HboneListener;
import dev.ferry.agent.hbone.HboneServer;
import dev.ferry.agent.net.NativeSocketFactory;
import dev.ferry.agent.net.NetworkNamespace;
import dev.ferry.agent.net.SocketMarks;
import dev.ferry.agent.proxy.CaptureListener;
import dev.ferry.agent.proxy.InboundPath;
import dev.ferry.agent.proxy.RelayContext;
import dev.ferry.mesh.Workload;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One captured pod: redirect rules inside its network namespace and its own listener set there (outbound on the
 * pod's loopback, inbound on all its addresses), owned by the pod's workload; upstream sockets for its connections
 * are created in its namespace with {@code SO_MARK} 1337, so it keeps its own source IP.
 */
public final class PodCapture implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PodCapture.class);
    public static final int OUTBOUND_PORT = dev.ferry.agent.net.MeshPorts.POD_OUTBOUND;
    public static final int INBOUND_PORT = dev.ferry.agent.net.MeshPorts.POD_INBOUND;
    public static final int HBONE_PORT = dev.ferry.agent.net.MeshPorts.HBONE;

    private final Workload workload;
    private final NetworkNamespace namespace;
    private final CaptureListener outbound;
    private final CaptureListener inbound;
    private final io.netty.channel.Channel hbone;
    /** The HBONE connections this pod's listener accepted, to be told GOAWAY when the agent drains. */
    private final ChannelGroup hboneConnections;

    private PodCapture(
            Workload workload,
            NetworkNamespace namespace,
            CaptureListener outbound,
            CaptureListener inbound,
            io.netty.channel.Channel hbone,
            ChannelGroup hboneConnections) {
        this.hbone = hbone;
        this.hboneConnections = hboneConnections;
        this.workload = workload;
        this.namespace = namespace;
        this.outbound = outbound;
        this.inbound = inbound;
    }

    /**
     * Installs the rules, binds the pod's listeners inside its namespace and starts serving them. Blocking (runs
     * nft): call off the event loops. On failure nothing of this pod stays bound.
     */
    public static PodCapture attach(
            RelayContext host,
            NativeSocketFactory hostSockets,
            EventLoopGroup group,
            Path netns,
            Workload workload,
            InetAddress probeSource,
            Hbone hboneConfig,
            String trustDomain,
            java.util.Set<Integer> controlPorts)
            throws IOException, InterruptedException {
        // Ports a CONNECT may never target: Ferry's own in the pod, and its control ports (a tunnel into the agent
        // would be a loop or a bypass). The control ports are configurable, so they come from the config.
        java.util.Set<Integer> ownPorts = new java.util.HashSet<>(controlPorts);
        ownPorts.addAll(java.util.Set.of(OUTBOUND_PORT, INBOUND_PORT, HBONE_PORT));
        NetworkNamespace ns = NetworkNamespace.open(netns);
        CaptureListener out = null;
        CaptureListener in = null;
        io.netty.channel.Channel hbone = null;
        ChannelGroup hboneConnections =
                new DefaultChannelGroup("hbone/" + workload.key(), GlobalEventExecutor.INSTANCE);
        try {
            PodRules.apply(ns, OUTBOUND_PORT, INBOUND_PORT, HBONE_PORT, probeSource);
            RelayContext pod = host.withSockets(hostSockets.inNamespace(ns, SocketMarks.FERRY_MARK));
            out = new CaptureListener(pod, Direction.OUTBOUND, "outbound/" + workload.key(), workload);
            in = new CaptureListener(pod, Direction.INBOUND, "inbound/" + workload.key(), workload);
            bind(out, group, new InetSocketAddress(InetAddress.getLoopbackAddress(), OUTBOUND_PORT));
            bind(in, group, new InetSocketAddress(INBOUND_PORT));
            if (hboneConfig != null) {
                var identity = workload.identity(trustDomain);
                HboneListener listener = new HboneListener(
                        pod.sockets(),
                        pod.snapshot(),
                        new InboundPath(pod),
                        pod.registry()::admitHbone,
                        pod.registry()::releaseHbone,
                        pod.metrics()::acceptError);
                ChannelFuture f = HboneServer.bind(
                                listener,
                                group,
                                new InetSocketAddress(HBONE_PORT),
                                workload,
                                () -> hboneConfig.certificates().apply(identity),
                                hboneConfig.tls(),
                                trustDomain,
                                ownPorts,
                                hboneConnections)
                        .await();
                if (!f.isSuccess()) {
                    throw new IOException(
                            "cannot bind HBONE on :" + HBONE_PORT + ": "
                                    + f.cause().getMessage(),
                            f.cause());
                }
                hbone = f.channel();
            }
            out.serve();
            in.serve();
            if (hbone != null) {
                hbone.config().setAutoRead(true);
            }
            log.info("captured pod {} in {}", workload.key(), netns);
            return new PodCapture(workload, ns, out, in, hbone, hboneConnections);
        } catch (IOException | RuntimeException | InterruptedException e) {
            if (out != null) {
                out.close();
            }
            if (in != null) {
                in.close();
            }
            if (hbone != null) {
                hbone.close();
            }
            ns.close();
            throw e;
        }
    }

    private static void bind(CaptureListener l, EventLoopGroup group, InetSocketAddress addr)
            throws IOException, InterruptedException {
        ChannelFuture f = l.bind(group, addr).await();
        if (!f.isSuccess()) {
            throw new IOException(
                    "cannot bind " + l.name() + " on " + addr + ": " + f.cause().getMessage(), f.cause());
        }
    }

    /**
     * What is missing of this pod's capture (CNI CHECK): listeners serving, rules and reply route in place.
     * Blocking (nft).
     *
     * @return the problems found; empty when the capture is whole
     */
    public List<String> verify() throws IOException, InterruptedException {
        List<String> problems = new ArrayList<>();
        for (CaptureListener l : List.of(outbound, inbound)) {
            if (!l.isServing()) {
                problems.add("listener " + l.name() + " is not serving");
            }
        }
        if (hbone != null && !hbone.isActive()) {
            problems.add("HBONE listener :" + HBONE_PORT + " is not serving");
        }
        problems.addAll(PodRules.verify(namespace, OUTBOUND_PORT, INBOUND_PORT));
        return problems;
    }

    public Workload workload() {
        return workload;
    }

    /**
     * Stops taking connections: the listeners close (a new agent's SO_REUSEPORT listeners take the new and the queued
     * ones) and the peers of open HBONE connections get GOAWAY — sent, not Netty's close-with-GOAWAY, which closes
     * at once when no stream is open and so cuts a stream the peer opened before it read the GOAWAY. Streams up to
     * the GOAWAY's last id are served and counted by the drain; later ones are refused, and the peer retries them on a
     * new connection, which lands on the new agent. The connections and the namespace stay open for the drain.
     */
    public void stopListening() {
        closeListeners();
        for (io.netty.channel.Channel c : hboneConnections) {
            if (c.pipeline().get(Http2FrameCodec.class) != null) {
                c.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
            } else {
                c.close(); // still in its handshake: no stream can be under way
            }
        }
    }

    private void closeListeners() {
        outbound.close();
        inbound.close();
        if (hbone != null) {
            hbone.close();
        }
    }

    /** Closes the pod's listeners, connections and namespace; the redirect rules stay (a stray DEL must never
     * un-capture a pod). */
    @Override
    public void close() {
        closeListeners();
        hboneConnections.close();
        namespace.close();
    }
}
