package dev.ferry.agent.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollMode;
import java.net.InetSocketAddress;
import java.time.Duration;

/** Sockets in the agent's own network namespace, with the relay's socket options. */
public final class HostSocketFactory implements SocketFactory {
    /**
     * Write-buffer marks per channel: stop reading the other side above 256 KiB queued, resume below 64 KiB. Large
     * enough to keep a 64 KiB read in flight on a fast link, small enough that 9,000 stalled readers stay bounded.
     */
    public static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    private final Transport transport;
    private final Duration connectTimeout;
    private final boolean keepalive;
    private final Duration keepaliveIdle;

    private final boolean splice;

    /** @param splice sockets for the splice relay: epoll in level-triggered mode, which Netty's splice requires */
    public HostSocketFactory(
            Transport transport, Duration connectTimeout, boolean keepalive, Duration keepaliveIdle, boolean splice) {
        if (splice && transport != Transport.EPOLL) {
            throw new IllegalStateException("relay: splice needs transport epoll, not " + transport.label());
        }
        this.splice = splice;
        this.transport = transport;
        this.connectTimeout = connectTimeout;
        this.keepalive = keepalive;
        this.keepaliveIdle = keepaliveIdle;
    }

    @Override
    public ChannelFuture listen(
            EventLoopGroup group,
            InetSocketAddress address,
            ChannelHandler serverHandler,
            ChannelHandler childHandler) {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                // Bind everything, then serve: the caller turns accepting on once every listener is bound.
                .option(ChannelOption.AUTO_READ, false)
                .handler(serverHandler)
                .childHandler(childHandler)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, keepalive)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK);
        if (keepalive && transport.keepIdleOption() != null) {
            b.childOption(transport.keepIdleOption(), (int) keepaliveIdle.toSeconds());
        }
        if (splice) {
            b.childOption(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED);
        }
        return b.bind(address);
    }

    @Override
    public ChannelFuture connect(EventLoop loop, InetSocketAddress remote, ChannelHandler handler) {
        Bootstrap b = new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, keepalive)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) connectTimeout.toMillis())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(handler);
        if (keepalive && transport.keepIdleOption() != null) {
            b.option(transport.keepIdleOption(), (int) keepaliveIdle.toSeconds());
        }
        if (splice) {
            b.option(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED);
        }
        return b.connect(remote);
    }
}
