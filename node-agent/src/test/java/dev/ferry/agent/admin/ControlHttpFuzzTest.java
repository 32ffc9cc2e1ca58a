package dev.ferry.agent.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * Fuzzing (Jazzer) of the control endpoints' HTTP handling — the only HTTP the agent serves today, on ports any pod
 * can reach (15020, 15021). Bytes in chunks through the same pipeline the server builds: every answer is an HTTP
 * response, nothing escapes the pipeline, nothing leaks (the leak detector runs paranoid in tests).
 */
class ControlHttpFuzzTest {
    private static final Map<String, ControlRoute> ROUTES = Map.of(
            "/healthz/ready", r -> ControlResponse.text(200, "ready\n"),
            "/logging", new LoggingHandler(),
            "/boom",
                    r -> {
                        throw new IllegalStateException("a route that fails");
                    });

    @FuzzTest(maxDuration = "3m")
    void requests(FuzzedDataProvider data) {
        EmbeddedChannel ch = new EmbeddedChannel(
                new RequestDeadlineHandler(Duration.ofSeconds(5)),
                new HttpServerCodec(4096, 8192, 8192),
                new HttpObjectAggregator(16384),
                new ControlHandler("fuzz", ROUTES));
        try {
            while (data.remainingBytes() > 0 && ch.isActive()) {
                byte[] chunk = data.consumeBytes(data.consumeInt(1, 512));
                ch.writeInbound(Unpooled.wrappedBuffer(chunk));
                ch.checkException();
            }
            StringBuilder answered = new StringBuilder();
            for (Object out; (out = ch.readOutbound()) != null; ) {
                ByteBuf b = (ByteBuf) out;
                try {
                    answered.append(b.toString(StandardCharsets.ISO_8859_1));
                } finally {
                    b.release();
                }
            }
            if (!answered.isEmpty()) {
                assertThat(answered.toString()).startsWith("HTTP/1.1 ");
            }
        } finally {
            ch.finishAndReleaseAll();
        }
    }
}
