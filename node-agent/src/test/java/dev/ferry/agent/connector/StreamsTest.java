package dev.ferry.agent.connector;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The relay's "once flushed" waits on a real loopback socket: no empty write when nothing is queued (on io_uring
 * each is a zero-length send), the wait kept when something is, and no write at all to a closed channel.
 */
class StreamsTest {
    private EventLoopGroup group;
    private ServerSocket server;
    private Socket accepted;
    private Channel ch;
    /** Every message that reached the channel's outbound side, empty ones included. */
    private final List<Integer> writes = new CopyOnWriteArrayList<>();

    @BeforeEach
    void connect() throws Exception {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        ch = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .handler(new ChannelOutboundHandlerAdapter() {
                    @Override
                    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                        writes.add(((ByteBuf) msg).readableBytes());
                        ctx.write(msg, promise);
                    }
                })
                .connect(new InetSocketAddress(server.getInetAddress(), server.getLocalPort()))
                .sync()
                .channel();
        accepted = server.accept();
    }

    @AfterEach
    void close() throws Exception {
        ch.close().sync();
        accepted.close();
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private boolean onLoop(java.util.function.Consumer<AtomicBoolean> action) throws Exception {
        AtomicBoolean ran = new AtomicBoolean();
        // Run and read back on the loop: "ran" must be set by the call itself, not by a later write completion.
        return ch.eventLoop()
                .submit(() -> {
                    action.accept(ran);
                    return ran.get();
                })
                .get(5, TimeUnit.SECONDS);
    }

    @Test
    void nothingQueuedRunsAtOnceWithoutAnEmptyWrite() throws Exception {
        assertThat(onLoop(ran -> Streams.afterWrites(ch, () -> ran.set(true)))).isTrue();
        assertThat(writes).isEmpty();
    }

    @Test
    void somethingQueuedWaitsForItsFlush() throws Exception {
        AtomicBoolean ran = new AtomicBoolean();
        ch.eventLoop()
                .submit(() -> {
                    ch.write(Unpooled.copiedBuffer("queued", StandardCharsets.US_ASCII)); // not flushed yet
                    Streams.afterWrites(ch, () -> ran.set(true));
                })
                .get(5, TimeUnit.SECONDS);
        assertThat(accepted.getInputStream().readNBytes(6)).isEqualTo("queued".getBytes(StandardCharsets.US_ASCII));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!ran.get() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(ran).isTrue();
        assertThat(writes).containsExactly(6, 0); // the empty write flushed the queued bytes and marked their end
    }

    @Test
    void closeAfterWritesClosesAnIdleChannelAtOnceAndLeavesAClosedOneAlone() throws Exception {
        assertThat(onLoop(ran -> {
                    Streams.closeAfterWrites(ch);
                    ran.set(!ch.isOpen());
                }))
                .isTrue();
        assertThat(onLoop(ran -> {
                    Streams.closeAfterWrites(ch); // closed already: no write, no exception built for it
                    ran.set(true);
                }))
                .isTrue();
        assertThat(writes).isEmpty();
        assertThat(accepted.getInputStream().read()).isEqualTo(-1);
    }

    @Test
    void aStreamThatIsNotASocketAlwaysTakesTheEmptyWrite() throws Exception {
        io.netty.channel.embedded.EmbeddedChannel stream =
                new io.netty.channel.embedded.EmbeddedChannel(new ChannelInboundHandlerAdapter());
        AtomicBoolean ran = new AtomicBoolean();
        Streams.afterWrites(stream, () -> ran.set(true));
        assertThat(ran).isTrue();
        assertThat((ByteBuf) stream.readOutbound()).as("the empty write").isNotNull();
        stream.finishAndReleaseAll();
    }
}
