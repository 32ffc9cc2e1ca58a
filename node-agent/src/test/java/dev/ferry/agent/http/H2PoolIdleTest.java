package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A shared upstream HTTP/2 connection is closed after 90 s without a frame from its server and no stream, counted
 * from the last frame: the server's PING 60 s in keeps it open past the 90th second. (The idle handler once sat
 * behind the streams handler, which passes no frame on, and closed every connection without a stream at each 90 s
 * tick whatever it had read.) Netty's embedded channel with its clock frozen, so minutes pass at once.
 */
class H2PoolIdleTest {
    private static final byte[] SETTINGS = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    private static final byte[] PING = {0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};

    @Test
    void closedNinetySecondsAfterItsLastFrame() {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.freezeTime();
        try {
            H2Pool.initConnection(ch);
            ch.writeInbound(Unpooled.wrappedBuffer(SETTINGS));
            pass(ch, 60);
            ch.writeInbound(Unpooled.wrappedBuffer(PING));
            pass(ch, 60);
            assertThat(ch.isOpen()).as("120 s in, a frame 60 s ago").isTrue();
            pass(ch, 31);
            assertThat(ch.isOpen()).as("91 s after the last frame").isFalse();
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    private static void pass(EmbeddedChannel ch, long seconds) {
        ch.advanceTimeBy(seconds, TimeUnit.SECONDS);
        ch.runScheduledPendingTasks();
    }
}
