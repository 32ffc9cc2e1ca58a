package dev.ferry.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.support.Netns;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sockets created inside a pod's network namespace from the agent's event loops (setns, socket(), setns back):
 * listeners reachable only inside the namespace, upstream sockets that live there and carry SO_MARK 1337, and event
 * loops that are back in the agent's namespace afterwards. Root only; fails, never skips.
 */
class NativeSocketFactoryNetnsTest {

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll"})
    void listenersAndUpstreamSocketsLiveInThePodNamespace(String transportName) throws Exception {
        Transport transport = "epoll".equals(transportName) ? Transport.EPOLL : Transport.IO_URING;
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("netns-test", true));
        try (Netns pod = new Netns("ferry-sock");
                NetworkNamespace ns = NetworkNamespace.open(Path.of("/run/netns", pod.name()))) {
            NativeSocketFactory host =
                    new NativeSocketFactory(transport, Duration.ofSeconds(2), true, Duration.ofSeconds(60), false);
            NativeSocketFactory inPod = host.inNamespace(ns, SocketMarks.FERRY_MARK);
            java.util.concurrent.atomic.AtomicReference<Channel> accepted =
                    new java.util.concurrent.atomic.AtomicReference<>();

            // A listener bound to 127.0.0.1 inside the pod: the pod's loopback, not the host's.
            ChannelFuture bound = inPod.listen(
                            group,
                            new InetSocketAddress("127.0.0.1", 0),
                            new ChannelInboundHandlerAdapter(),
                            new ChannelInitializer<Channel>() {
                                @Override
                                protected void initChannel(Channel ch) {
                                    accepted.set(ch);
                                    ch.config().setAutoRead(true);
                                    ch.pipeline().addLast(new Echo());
                                }
                            })
                    .sync();
            Channel listener = bound.channel();
            listener.config().setAutoRead(true);
            int port = ((InetSocketAddress) listener.localAddress()).getPort();

            String inside = pod.exec("ss", "-Hltn", "sport = :" + port);
            assertThat(inside).contains("127.0.0.1]:" + port); // native sockets are dual-stack: [::ffff:127.0.0.1]
            String outside = Netns.run("ss", "-Hltn", "sport = :" + port);
            assertThat(outside).doesNotContain("127.0.0.1]:" + port);
            String echoed = pod.exec("/usr/bin/python3", "-c", """
                    import socket
                    s = socket.create_connection(("127.0.0.1", %d), timeout=5)
                    s.sendall(b"ping"); print(s.recv(4).decode())
                    """.formatted(port));
            assertThat(echoed.trim()).isEqualTo("ping");
            // Keepalive comes from the listener (set once, inherited by the kernel), Nagle off from Netty's config:
            // read back from the accepted socket itself.
            Channel child = accepted.get();
            assertThat(child.config().getOption(io.netty.channel.ChannelOption.SO_KEEPALIVE))
                    .isTrue();
            assertThat(child.config().getOption(transport.keepIdleOption())).isEqualTo(60);
            assertThat(child.config().getOption(io.netty.channel.ChannelOption.TCP_NODELAY))
                    .isTrue();

            // An upstream socket from the agent's event loop: connects within the pod (to the pod-only listener).
            ChannelFuture up = inPod.connect(
                    group.next(), new InetSocketAddress("127.0.0.1", port), new ChannelInboundHandlerAdapter());
            assertThat(up.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(up.isSuccess()).as(String.valueOf(up.cause())).isTrue();
            assertThat(SocketMarks.markOf(up.channel())).isEqualTo(SocketMarks.FERRY_MARK);
            assertThat(up.channel().config().getOption(io.netty.channel.ChannelOption.TCP_NODELAY))
                    .isTrue();
            assertThat(up.channel().config().getOption(io.netty.channel.ChannelOption.SO_KEEPALIVE))
                    .isTrue();
            // To an IPv4 peer, epoll makes an IPv4 socket (no IPV6_V6ONLY call, no mapped addresses); io_uring has
            // dual-stack sockets only. ss prints the family: 127.0.0.1:p for IPv4, [::ffff:127.0.0.1]:p for dual.
            int upPort = ((InetSocketAddress) up.channel().localAddress()).getPort();
            String upLine = pod.exec("ss", "-Htn", "sport = :" + upPort);
            assertThat(upLine).contains(":" + upPort);
            if (transport == Transport.EPOLL) {
                assertThat(upLine).contains("127.0.0.1:" + upPort).doesNotContain("::ffff:");
            } else {
                assertThat(upLine).contains("[::ffff:127.0.0.1]:" + upPort);
            }
            up.channel().close().sync();

            // The event loop is back home: a host-namespace socket made on it does not see the pod's listener.
            ChannelFuture fromHost = host.connect(
                    group.next(), new InetSocketAddress("127.0.0.1", port), new ChannelInboundHandlerAdapter());
            fromHost.await(5, TimeUnit.SECONDS);
            assertThat(fromHost.isSuccess())
                    .as("host socket must not reach the pod's loopback")
                    .isFalse();
            listener.close().sync();

            // Node-level upstream sockets carry the mark too: a passthrough to an address the node's own rules
            // redirect would otherwise loop back into the agent until the connection cap (a defect, 17k fds).
            Channel hostListener = host.listen(
                            group,
                            new InetSocketAddress("127.0.0.1", 0),
                            new ChannelInboundHandlerAdapter(),
                            new ChannelInboundHandlerAdapter())
                    .sync()
                    .channel();
            hostListener.config().setAutoRead(true);
            ChannelFuture marked = host.connect(
                    group.next(), (InetSocketAddress) hostListener.localAddress(), new ChannelInboundHandlerAdapter());
            assertThat(marked.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(marked.isSuccess()).as(String.valueOf(marked.cause())).isTrue();
            assertThat(SocketMarks.markOf(marked.channel())).isEqualTo(SocketMarks.FERRY_MARK);
            marked.channel().close().sync();
            hostListener.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Echoes and releases nothing itself: the write takes ownership of each buffer. */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.writeAndFlush((ByteBuf) msg);
        }
    }

    /**
     * No socket can be made (here: the pod's namespace was closed; in life EMFILE or a pod gone): the connect fails
     * with the reason, and nothing is left open or registered.
     */
    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll"})
    void aConnectWithoutASocketFailsWithTheReason(String transportName) throws Exception {
        Transport transport = "epoll".equals(transportName) ? Transport.EPOLL : Transport.IO_URING;
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("netns-test", true));
        try {
            NetworkNamespace ns = NetworkNamespace.open(Path.of("/proc/self/ns/net"));
            ns.close();
            NativeSocketFactory gone = new NativeSocketFactory(
                            transport, Duration.ofSeconds(2), true, Duration.ofSeconds(60), false)
                    .inNamespace(ns, SocketMarks.FERRY_MARK);
            ChannelFuture f = group.next()
                    .submit(() -> gone.connect(
                            group.next(), new InetSocketAddress("127.0.0.1", 9), new ChannelInboundHandlerAdapter()))
                    .get(5, TimeUnit.SECONDS);
            assertThat(f.await(5, TimeUnit.SECONDS)).isTrue();
            assertThat(f.isSuccess()).isFalse();
            assertThat(f.cause()).hasMessageContaining("is closed");
            assertThat(f.channel().isOpen()).isFalse();
            assertThat(f.channel().isRegistered()).isFalse();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }
}
