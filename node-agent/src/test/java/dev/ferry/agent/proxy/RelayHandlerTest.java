package dev.ferry.agent.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.config.NodeConfig.UnknownDestination;
import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.net.SocketFactory;
import dev.ferry.agent.observability.Metrics;
import dev.ferry.agent.routing.DestinationResolver;
import dev.ferry.agent.routing.RequestBalancer;
import dev.ferry.agent.routing.RoundRobinBalancer;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.time.Ticker;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The relay handlers in isolation: forwarding, buffer ownership, back-pressure, half-close, close reasons. */
class RelayHandlerTest {
    private final List<ConnectionRecord> reported = new ArrayList<>();
    private final AtomicInteger downstreamReads = new AtomicInteger();
    private final AtomicInteger upstreamReads = new AtomicInteger();
    private EmbeddedChannel down;
    private EmbeddedChannel up;
    private RelaySession session;
    private ConnectionRegistry registry;

    @BeforeEach
    void setUp() {
        registry = new ConnectionRegistry(10, 10);
        RelayContext ctx = new RelayContext(
                MeshSnapshot::empty,
                new DestinationResolver(UnknownDestination.PASSTHROUGH, "n", Set.of()),
                new RequestBalancer(new RoundRobinBalancer(), new java.util.Random(1)),
                ch -> new InetSocketAddress(1),
                (SocketFactory) null,
                registry,
                new Metrics(),
                reported::add,
                Ticker.system(),
                RelayTimers.NETTY,
                Duration.ofHours(1),
                Duration.ofSeconds(60),
                Duration.ofSeconds(30),
                "cluster.local",
                "cluster.local",
                false,
                new AtomicLong(),
                new dev.ferry.agent.connector.Connectors(null),
                null,
                null);
        down = new EmbeddedChannel();
        up = new EmbeddedChannel();
        // As in production: reads are requested by the relay only, never by the pipeline's auto-read.
        down.config().setAutoRead(false);
        up.config().setAutoRead(false);
        ConnectionRecord record = new ConnectionRecord(
                1, Direction.OUTBOUND, "outbound", new InetSocketAddress(9), null, Instant.EPOCH, 0);
        session = new RelaySession(ctx, record, down);
        assertThat(registry.admit(session, null)).isNull();
        session.admitted();
        session.open(ConnectionLabels.base(record));
        session.upstream(up);
        down.pipeline().addLast(new ReadCounter(downstreamReads), new RelayHandler(session));
        up.pipeline().addLast(new ReadCounter(upstreamReads), new RelayHandler(session));
    }

    @Test
    void forwardsBytesBothWaysCountsThemAndHandsOverOwnership() {
        ByteBuf request = Unpooled.copiedBuffer("GET / HTTP/1.1\r\n\r\n", StandardCharsets.US_ASCII);
        down.writeInbound(request);
        ByteBuf atUpstream = up.readOutbound();
        assertThat(atUpstream).isSameAs(request); // no copy: the same buffer, now owned by the upstream side
        assertThat(atUpstream.toString(StandardCharsets.US_ASCII)).startsWith("GET /");
        atUpstream.release();

        up.writeInbound(Unpooled.copiedBuffer("HTTP/1.1 200 OK\r\n\r\n", StandardCharsets.US_ASCII));
        ByteBuf atDownstream = down.readOutbound();
        assertThat(atDownstream.readableBytes()).isEqualTo(19);
        atDownstream.release();

        assertThat(session.record().bytesReceived()).isEqualTo(18);
        assertThat(session.record().bytesSent()).isEqualTo(19);
        assertThat(request.refCnt()).isZero();
    }

    @Test
    void readsOnlyWhileThePeerIsWritable() {
        int before = downstreamReads.get();
        up.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
        up.runPendingTasks();
        assertThat(up.isWritable()).isFalse();
        ByteBuf b = Unpooled.copiedBuffer(new byte[] {1, 2, 3});
        down.writeInbound(b);
        assertThat(downstreamReads.get())
                .as("no read while the upstream cannot take more")
                .isEqualTo(before);

        up.unsafe().outboundBuffer().setUserDefinedWritability(1, true); // the upstream drained
        up.runPendingTasks();
        down.runPendingTasks();
        assertThat(downstreamReads.get()).as("read resumes on writability").isEqualTo(before + 1);
        ((ByteBuf) up.readOutbound()).release();

        down.writeInbound(Unpooled.copiedBuffer(new byte[] {4}));
        assertThat(downstreamReads.get())
                .as("writable peer: read again right away")
                .isEqualTo(before + 2);
        ((ByteBuf) up.readOutbound()).release();
    }

    @Test
    void finFromBothSidesEndsNormallyAndReportsOnce() {
        down.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat(down.isOpen()).isTrue();
        assertThat(up.isOpen()).as("half-close keeps the connection").isTrue();
        up.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        down.runPendingTasks();
        up.runPendingTasks();
        assertThat(down.isOpen()).isFalse();
        assertThat(up.isOpen()).isFalse();
        assertThat(reported).hasSize(1);
        assertThat(reported.getFirst().closeReason()).isEqualTo(CloseReason.NORMAL);
        assertThat(registry.size()).isZero();
    }

    @Test
    void upstreamGoingAwayWithoutFinIsAnUpstreamAbort() {
        up.close();
        down.runPendingTasks();
        assertThat(down.isOpen()).isFalse();
        assertThat(reported).hasSize(1);
        assertThat(reported.getFirst().closeReason()).isEqualTo(CloseReason.UPSTREAM_ABORT);
        assertThat(reported.getFirst().labels().reporter()).isEqualTo("source");
        assertThat(reported.getFirst().labels().destinationService()).isEqualTo(ConnectionLabels.UNKNOWN);
    }

    @Test
    void downstreamResetIsADownstreamAbort() {
        down.pipeline().fireExceptionCaught(new java.io.IOException("Connection reset by peer"));
        up.runPendingTasks();
        assertThat(up.isOpen()).isFalse();
        assertThat(reported)
                .singleElement()
                .extracting(ConnectionRecord::closeReason)
                .isEqualTo(CloseReason.DOWNSTREAM_ABORT);
        assertThat(reported.getFirst().closeDetail()).contains("reset");
    }

    @Test
    void nonBufferMessagesAreReleasedNotForwarded() {
        ByteBuf wrapped = Unpooled.buffer(4).writeInt(5);
        io.netty.util.ReferenceCounted odd = new io.netty.buffer.DefaultByteBufHolder(wrapped);
        down.writeInbound(odd);
        assertThat((Object) up.readOutbound()).isNull();
        assertThat(wrapped.refCnt()).isZero();
    }

    /** Counts read() requests passing through a channel's pipeline. */
    private static final class ReadCounter extends ChannelOutboundHandlerAdapter {
        private final AtomicInteger reads;

        ReadCounter(AtomicInteger reads) {
            this.reads = reads;
        }

        @Override
        public void read(ChannelHandlerContext ctx) {
            reads.incrementAndGet();
            ctx.read();
        }
    }
}
