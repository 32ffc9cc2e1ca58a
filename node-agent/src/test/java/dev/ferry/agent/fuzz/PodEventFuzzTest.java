package dev.ferry.agent.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.ferry.agent.capture.PodEventFrame;
import dev.ferry.agent.capture.PodEventReply;
import dev.ferry.agent.capture.PodEvents;
import dev.ferry.mesh.MeshSnapshot;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;

/**
 * Fuzzing (Jazzer) of what reaches the agent on its pod-event socket: the frame (length-prefixed, in chunks as the
 * socket delivers them) and the CNI request inside it. Whatever arrives gets an answer — more, bad, or a CNI reply
 * with a code — and never a capture: the fd here is no namespace, and no pod is in the snapshot.
 */
class PodEventFuzzTest {
    private static final PodEvents EVENTS = new PodEvents(
            MeshSnapshot::empty,
            (netns, workload) -> fail("nothing may be captured from fuzz input"),
            pods -> {},
            new PodEvents.Settings("node-1", null, List.of(), null));

    @FuzzTest(maxDuration = "3m")
    void frames(FuzzedDataProvider data) {
        ByteBuf pending = Unpooled.buffer();
        try {
            while (data.remainingBytes() > 0) {
                pending.writeBytes(data.consumeBytes(data.consumeInt(1, 64)));
                switch (PodEventFrame.decode(pending, 4096)) {
                    case PodEventFrame.NeedMore more -> {}
                    case PodEventFrame.Bad bad -> {
                        assertThat(bad.why()).isNotEmpty();
                        return; // answered with a decode error and closed
                    }
                    case PodEventFrame.Complete c -> {
                        assertThat(c.body().length).isBetween(1, 4096);
                        return;
                    }
                }
            }
        } finally {
            pending.release();
        }
    }

    @FuzzTest(maxDuration = "3m")
    void cniRequests(byte[] body) throws InterruptedException {
        PodEventReply r = EVENTS.handle(body, -1);
        assertThat(r.exitCode()).isBetween(0, 255);
        assertThat(r.stdout()).isNotNull();
        if (r.exitCode() != 0) {
            assertThat(r.stdout()).contains("\"code\"").contains("\"msg\"");
        }
    }
}
