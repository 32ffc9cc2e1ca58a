package dev.ferry.agent.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which upstream sockets get TCP keepalive when: the factory's own at connect (pooled L7 and HBONE connections), its
 * {@link SocketFactory#forRelay} twin's only when {@link SocketFactory#keepalive} is called (the relay's first idle
 * check), and none from a factory configured without keepalive. Real sockets on loopback; read back from the kernel.
 */
class RelayKeepaliveTest {

    @ParameterizedTest
    @ValueSource(strings = {"io_uring", "epoll"})
    void relaySocketsGetKeepaliveWhenAskedPooledOnesAtConnect(String name) throws Exception {
        Transport transport = name.equals("io_uring") ? Transport.IO_URING : Transport.EPOLL;
        EventLoopGroup group = transport.newGroup(1, new DefaultThreadFactory("keepalive-test", true));
        try (ServerSocket server = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort());
            NativeSocketFactory sockets =
                    new NativeSocketFactory(transport, Duration.ofSeconds(5), true, Duration.ofSeconds(45), false);

            Channel pooled = connected(sockets, group, to);
            assertThat(keepalive(pooled)).as("pooled: keepalive from connect").isTrue();
            assertThat(idle(pooled, transport)).isEqualTo(45);

            SocketFactory relay = sockets.forRelay();
            Channel relayed = connected(relay, group, to);
            assertThat(keepalive(relayed)).as("relayed: none at connect").isFalse();
            relay.keepalive(relayed);
            assertThat(keepalive(relayed)).as("relayed: after keepalive()").isTrue();
            assertThat(idle(relayed, transport)).isEqualTo(45);

            NativeSocketFactory off =
                    new NativeSocketFactory(transport, Duration.ofSeconds(5), false, Duration.ofSeconds(45), false);
            Channel plain = connected(off.forRelay(), group, to);
            off.keepalive(plain);
            assertThat(keepalive(plain)).as("tcpKeepalive off: never").isFalse();

            relayed.close().sync();
            relay.keepalive(relayed); // a closed socket: nothing to do, no exception
            pooled.close().sync();
            plain.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        }
    }

    private static Channel connected(SocketFactory sockets, EventLoopGroup group, InetSocketAddress to)
            throws InterruptedException {
        ChannelFuture f = sockets.connect(group.next(), to, new ChannelInboundHandlerAdapter());
        assertThat(f.await(5, TimeUnit.SECONDS)).as("connected in time").isTrue();
        assertThat(f.isSuccess()).as("connected: %s", f.cause()).isTrue();
        return f.channel();
    }

    private static boolean keepalive(Channel ch) {
        return ch.config().getOption(ChannelOption.SO_KEEPALIVE);
    }

    private static int idle(Channel ch, Transport transport) {
        return ch.config().getOption(transport.keepIdleOption());
    }
}
