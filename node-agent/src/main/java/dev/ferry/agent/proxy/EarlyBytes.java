package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.CloseReason;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The downstream's handler while its upstream is being opened. With AUTO_READ off nothing should arrive, but some
 * bytes do: epoll and io_uring read what is pending when a socket's peer half-closes (RDHUP), and an HBONE stream
 * delivers the DATA frames that came in the same read as its CONNECT (an optimistic client sends them right behind
 * the headers). Those bytes and the end of stream are kept (bounded) and replayed to the upstream once it is open;
 * never dropped. Owns what it holds until {@link #takeBytes} or its removal, which releases the rest.
 */
final class EarlyBytes extends ChannelInboundHandlerAdapter {
    /** One RDHUP read is at most a receive buffer, one HBONE read at most the stream window: far below this. */
    static final int MAX_EARLY_BYTES = 1 << 20;

    private final RelaySession session;
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>(2);
    private long pendingBytes;
    private boolean eof;

    EarlyBytes(RelaySession session) {
        this.session = session;
    }

    /** The bytes kept so far, in order; ownership passes to the caller. */
    List<ByteBuf> takeBytes() {
        List<ByteBuf> out = new ArrayList<>(pending);
        pending.clear();
        pendingBytes = 0;
        return out;
    }

    /** The downstream ended its stream before the upstream was open. */
    boolean eof() {
        return eof;
    }

    /** Netty asks at every pipeline change; its answer is a per-thread map lookup, measurable per connection. */
    @Override
    public boolean isSharable() {
        return false;
    }

    @Override
    public void channelRead(ChannelHandlerContext chc, Object msg) {
        if (!(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        pendingBytes += buf.readableBytes();
        pending.add(buf);
        if (pendingBytes > MAX_EARLY_BYTES) {
            session.abort(CloseReason.DOWNSTREAM_ABORT, "over " + MAX_EARLY_BYTES + " bytes before upstream connected");
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext chc, Object evt) {
        if (evt instanceof ChannelInputShutdownEvent) {
            eof = true;
        }
        ReferenceCountUtil.release(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext chc) {
        session.inactive(chc.channel());
        release();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext chc, Throwable cause) {
        session.abort(CloseReason.DOWNSTREAM_ABORT, cause.getClass().getSimpleName() + ": " + cause.getMessage());
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext chc) {
        release();
    }

    private void release() {
        ByteBuf b;
        while ((b = pending.poll()) != null) {
            b.release();
        }
        pendingBytes = 0;
    }
}
