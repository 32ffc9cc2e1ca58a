package dev.ferry.agent.hbone;

import dev.ferry.agent.connector.EndOfStream;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * Makes an HBONE stream look like a socket to the relay: DATA frames in become bytes, END_STREAM becomes the input
 * shutdown a socket's FIN would be; bytes out become DATA frames (empty writes, the relay's flush probes, are not
 * sent: a peer counts empty DATA frames as abuse). The relay ends the stream by writing
 * {@link EndOfStream}, as {@code Streams.shutdownOutput} does for any stream that is not a socket.
 */
public final class StreamFrameAdapter extends ChannelDuplexHandler {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2DataFrame d) {
            boolean end = d.isEndStream();
            ByteBuf content = d.content().retain();
            d.release();
            if (content.isReadable()) {
                ctx.fireChannelRead(content);
            } else {
                content.release();
            }
            if (end) {
                ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            }
            return;
        }
        ReferenceCountUtil.release(msg); // trailers or anything else: nothing for the relay
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg == EndOfStream.INSTANCE) { // the stream's half-close
            ctx.write(new DefaultHttp2DataFrame(true), promise);
            return;
        }
        if (msg instanceof ByteBuf buf) {
            if (!buf.isReadable()) {
                buf.release();
                promise.setSuccess();
                return;
            }
            ctx.write(new DefaultHttp2DataFrame(buf), promise);
            return;
        }
        ctx.write(msg, promise);
    }
}
