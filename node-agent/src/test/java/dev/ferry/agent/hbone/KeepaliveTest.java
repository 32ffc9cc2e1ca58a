package dev.ferry.agent.hbone;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.timeout.IdleStateEvent;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** PING keepalive on an embedded channel whose clock the test moves. */
class KeepaliveTest {
    @Test
    void aQuietConnectionIsPingedAndClosedWithoutAnAck() {
        EmbeddedChannel ch = new EmbeddedChannel(new Keepalive(Duration.ofSeconds(10)));
        ch.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        Http2PingFrame ping = ch.readOutbound();
        assertThat(ping.ack()).isFalse();
        ch.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        assertThat((Object) ch.readOutbound()).as("one PING at a time").isNull();
        ch.advanceTimeBy(9, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).isTrue();
        ch.advanceTimeBy(2, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).as("no ACK in 10 s").isFalse();
    }

    @Test
    void anAckKeepsItAndOtherFramesPassThrough() {
        EmbeddedChannel ch = new EmbeddedChannel(new Keepalive(Duration.ofSeconds(10)));
        ch.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        Http2PingFrame ping = ch.readOutbound();
        ch.writeInbound(new DefaultHttp2PingFrame(ping.content() + 1, true)); // not ours: passed on
        assertThat((Object) ch.readInbound()).isNotNull();
        ch.writeInbound(new DefaultHttp2PingFrame(ping.content(), true));
        assertThat((Object) ch.readInbound()).as("our ACK is consumed").isNull();
        ch.advanceTimeBy(20, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
        assertThat(ch.isOpen()).isTrue();
        ch.pipeline().fireUserEventTriggered(IdleStateEvent.ALL_IDLE_STATE_EVENT);
        assertThat((Object) ch.readOutbound())
                .as("the next quiet spell gets a new PING")
                .isNotNull();
        ch.finishAndReleaseAll();
    }
}
