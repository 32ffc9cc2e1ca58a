package dev.ferry.agent.capture;

import io.netty.buffer.ByteBuf;

/**
 * The framing of a plugin call after its fd marker: a 4-byte big-endian length, then that many bytes of JSON. Pure,
 * so it can be fuzzed on its own: whatever bytes arrive, the answer is one of "more", "bad" (with why) or "complete".
 */
public final class PodEventFrame {
    public sealed interface Result {}

    public record NeedMore() implements Result {}

    public record Bad(String why) implements Result {}

    public record Complete(byte[] body) implements Result {}

    private static final NeedMore MORE = new NeedMore();

    private PodEventFrame() {}

    /**
     * Looks at what has arrived so far ({@code pending}'s readable bytes, not consumed unless complete).
     *
     * @param max the largest request body accepted
     */
    public static Result decode(ByteBuf pending, int max) {
        if (pending.readableBytes() > 4 + max) {
            return new Bad("request over " + max + " bytes");
        }
        if (pending.readableBytes() < 4) {
            return MORE;
        }
        int len = pending.getInt(pending.readerIndex());
        if (len <= 0 || len > max) {
            return new Bad("bad request length " + len);
        }
        if (pending.readableBytes() < 4 + len) {
            return MORE;
        }
        if (pending.readableBytes() > 4 + len) {
            return new Bad("trailing bytes after the request");
        }
        byte[] body = new byte[len];
        pending.skipBytes(4).readBytes(body);
        return new Complete(body);
    }
}
