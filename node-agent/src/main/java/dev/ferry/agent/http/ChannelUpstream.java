package dev.ferry.agent.http;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpObject;

/** An HTTP/1.1 upstream connection, taken from the pool or opened for the attempt, given back when it can be. */
final class ChannelUpstream implements Upstream {
    private final Channel channel;
    private final UpstreamHandler handler;
    private final UpstreamPool pool;
    private final EventLoop loop;
    private final UpstreamPool.Key key;

    ChannelUpstream(Channel channel, UpstreamPool pool, EventLoop loop, UpstreamPool.Key key) {
        this.channel = channel;
        this.handler = channel.pipeline().get(UpstreamHandler.class);
        this.pool = pool;
        this.loop = loop;
        this.key = key;
    }

    @Override
    public void attach(UpstreamEvents e) {
        handler.attach(e);
    }

    @Override
    public void write(HttpObject o) {
        channel.write(o, channel.voidPromise());
    }

    @Override
    public void flush() {
        channel.flush();
    }

    @Override
    public void read() {
        channel.read();
    }

    @Override
    public boolean isWritable() {
        return channel.isWritable();
    }

    @Override
    public void release(boolean reusable) {
        handler.detach();
        if (reusable) {
            pool.give(loop, key, channel);
        } else {
            channel.close();
        }
    }

    @Override
    public void close() {
        handler.detach();
        channel.close();
    }
}
