package dev.ferry.agent.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;

/** An HTTP/1.1 client connection as a downstream: the request handler's place in its pipeline. */
record ChannelDownstream(ChannelHandlerContext ctx) implements Downstream {
    @Override
    public EventLoop loop() {
        return ctx.channel().eventLoop();
    }

    @Override
    public void write(HttpObject o) {
        ctx.write(o, ctx.voidPromise());
    }

    @Override
    public void flush() {
        ctx.flush();
    }

    @Override
    public void read() {
        ctx.read();
    }

    @Override
    public boolean isWritable() {
        return ctx.channel().isWritable();
    }
}
