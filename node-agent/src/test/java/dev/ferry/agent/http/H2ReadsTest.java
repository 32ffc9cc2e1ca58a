package dev.ferry.agent.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A stream's received parts reach its reader only when it asks, and the peer's window comes back only for what the
 * reader took: HTTP/2 flow control as the back-pressure of the L7 path.
 */
class H2ReadsTest {
    private final List<String> events = new ArrayList<>();
    private final List<HttpObject> given = new ArrayList<>();
    private final H2Reads reads = new H2Reads(new H2Reads.Sink() {
        @Override
        public void part(HttpObject o) {
            given.add(o);
            events.add("part " + (o instanceof HttpContent c ? c.content().readableBytes() : 0));
        }

        @Override
        public void readOver() {
            events.add("over");
        }

        @Override
        public void giveBack(int bytes) {
            events.add("back " + bytes);
        }
    });

    private static HttpContent bytes(int n, boolean last) {
        return last
                ? new DefaultLastHttpContent(Unpooled.wrappedBuffer(new byte[n]))
                : new DefaultHttpContent(Unpooled.wrappedBuffer(new byte[n]));
    }

    @Test
    void partsWaitUntilAskedAndTheirWindowWithThem() {
        reads.received(bytes(100, false));
        reads.received(bytes(50, false));
        reads.readComplete(); // the connection's read ends: nothing was asked for, nothing is given back
        assertThat(events).isEmpty();

        reads.read();
        assertThat(events).containsExactly("part 100", "part 50", "back 150", "over");
        given.forEach(ReferenceCountUtil::release);
    }

    @Test
    void aReaderThatAskedTakesPartsAsTheyComeAndIsToldAtTheReadsEnd() {
        reads.read();
        assertThat(events).isEmpty(); // nothing waits
        reads.received(bytes(10, false));
        reads.received(bytes(20, true));
        assertThat(events).containsExactly("part 10", "part 20");
        reads.readComplete();
        assertThat(events).containsExactly("part 10", "part 20", "back 30", "over");

        events.clear();
        reads.received(bytes(5, false)); // the reader has not asked again
        reads.readComplete();
        assertThat(events).isEmpty();
        given.forEach(ReferenceCountUtil::release);
        reads.release();
    }

    @Test
    void paddingGoesBackAtOnceAndReleaseDropsWhatWaits() {
        reads.padding(7);
        HttpContent waiting = bytes(30, false);
        reads.received(waiting);
        reads.readComplete();
        assertThat(events).containsExactly("back 7");
        reads.release();
        assertThat(waiting.refCnt()).isZero();
    }

    @Test
    void aDiscardedPartIsReleasedAndItsWindowGoesBackAtTheReadsEnd() {
        HttpContent nobodys = bytes(40, false);
        reads.discard(nobodys);
        assertThat(nobodys.refCnt()).isZero();
        assertThat(reads.readComplete()).isTrue();
        assertThat(events).containsExactly("back 40");
        assertThat(reads.readComplete()).isFalse(); // nothing more to give back
    }

    @Test
    void aReadThatGivesNothingBackNeedsNoFlush() {
        assertThat(reads.read()).isFalse(); // nothing waited
        reads.readComplete();
        events.clear();
        reads.received(bytes(8, false)); // waits: the reader has not asked again
        assertThat(reads.read()).isTrue(); // given now, and its 8 bytes went back
        assertThat(events).containsExactly("part 8", "back 8", "over");
        given.forEach(ReferenceCountUtil::release);
    }

    @Test
    void aStreamThatIsOverGivesWhatWaitsUnasked() {
        reads.received(bytes(3, false));
        reads.received(bytes(4, true));
        reads.drain();
        assertThat(events).containsExactly("part 3", "part 4");
        given.forEach(ReferenceCountUtil::release);
    }
}
