package dev.ferry.agent.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A connection the client reset before the agent handled it has lost its conntrack entry, so SO_ORIGINAL_DST fails
 * as for a connection never redirected. The defect: it was closed and logged NR ("not redirected"); it is a
 * downstream abort (DC).
 */
class SoOriginalDstTest {
    @Test
    void aResetBeforeHandlingIsTheClientGoneNotANoRoute() throws Exception {
        EventLoopGroup group = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("odst-test", true));
        BlockingQueue<Channel> accepted = new ArrayBlockingQueue<>(2);
        try {
            Channel listener = new ServerBootstrap()
                    .group(group)
                    .channel(Transport.EPOLL.serverChannel())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new io.netty.channel.ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            accepted.add(ch);
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0))
                    .sync()
                    .channel();
            int port = ((InetSocketAddress) listener.localAddress()).getPort();

            try (Socket healthy = new Socket("127.0.0.1", port)) {
                Channel ch = accepted.poll(5, TimeUnit.SECONDS);
                var e = catchThrowableOfType(
                        OriginalDestination.OriginalDestinationException.class, () -> new SoOriginalDst().of(ch));
                assertThat(e.peerGone() || !ch.isActive())
                        .as("alive, just not redirected")
                        .isFalse();
                assertThat(e.getMessage()).contains("not redirected");
            }

            Socket reset = new Socket("127.0.0.1", port);
            Channel ch = accepted.poll(5, TimeUnit.SECONDS);
            reset.setSoLinger(true, 0);
            reset.close(); // RST
            Thread.sleep(200); // let the RST land on the accepted socket
            var e = catchThrowableOfType(
                    OriginalDestination.OriginalDestinationException.class, () -> new SoOriginalDst().of(ch));
            // Either the socket still holds the RST (SO_ERROR: ECONNRESET) or the transport has already seen it and
            // closed the channel; the connect handler takes both as the client gone (DC).
            assertThat(e.peerGone() || !ch.isActive()).isTrue();
            if (e.peerGone()) {
                assertThat(e.getMessage()).contains("reset the connection before it was handled");
            }
            listener.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }
}
