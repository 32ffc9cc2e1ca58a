package dev.ferry.agent.net;

import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import java.util.concurrent.ThreadFactory;

/**
 * The I/O transport: which event loop and channel classes carry traffic. Chosen once at start. io_uring is
 * preferred; epoll is a production path too, because container runtimes' default seccomp profiles block io_uring.
 */
public enum Transport {
    IO_URING("io_uring") {
        @Override
        public boolean available() {
            return IoUring.isAvailable();
        }

        @Override
        public String unavailableReason() {
            return String.valueOf(IoUring.unavailabilityCause());
        }

        @Override
        IoHandlerFactory ioHandlerFactory() {
            return IoUringIoHandler.newFactory();
        }

        @Override
        public Class<? extends ServerChannel> serverChannel() {
            return IoUringServerSocketChannel.class;
        }

        @Override
        public ChannelFactory<SocketChannel> socketFactory() {
            return IoUringSocketChannel::new;
        }

        @Override
        public ChannelOption<Integer> keepIdleOption() {
            return IoUringChannelOption.TCP_KEEPIDLE;
        }

        @Override
        public ChannelOption<Boolean> reusePortOption() {
            return IoUringChannelOption.SO_REUSEPORT;
        }
    },
    EPOLL("epoll") {
        @Override
        public boolean available() {
            return Epoll.isAvailable();
        }

        @Override
        public String unavailableReason() {
            return String.valueOf(Epoll.unavailabilityCause());
        }

        @Override
        IoHandlerFactory ioHandlerFactory() {
            return EpollIoHandler.newFactory();
        }

        @Override
        public Class<? extends ServerChannel> serverChannel() {
            return EpollServerSocketChannel.class;
        }

        @Override
        public ChannelFactory<SocketChannel> socketFactory() {
            return EpollSocketChannel::new;
        }

        @Override
        public ChannelFactory<SocketChannel> inetSocketFactory() {
            return () -> new EpollSocketChannel(SocketProtocolFamily.INET);
        }

        @Override
        public ChannelOption<Integer> keepIdleOption() {
            return EpollChannelOption.TCP_KEEPIDLE;
        }

        @Override
        public ChannelOption<Boolean> reusePortOption() {
            return EpollChannelOption.SO_REUSEPORT;
        }
    },
    NIO("nio") {
        @Override
        public boolean available() {
            return true;
        }

        @Override
        public String unavailableReason() {
            return "";
        }

        @Override
        IoHandlerFactory ioHandlerFactory() {
            return NioIoHandler.newFactory();
        }

        @Override
        public Class<? extends ServerChannel> serverChannel() {
            return NioServerSocketChannel.class;
        }

        @Override
        public ChannelFactory<SocketChannel> socketFactory() {
            return NioSocketChannel::new;
        }

        @Override
        public ChannelOption<Integer> keepIdleOption() {
            return null; // NIO cannot set TCP_KEEPIDLE: the kernel default (2 h) applies
        }

        @Override
        public ChannelOption<Boolean> reusePortOption() {
            return null;
        }
    };

    private final String label;

    Transport(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    public abstract boolean available();

    public abstract String unavailableReason();

    abstract IoHandlerFactory ioHandlerFactory();

    public abstract Class<? extends ServerChannel> serverChannel();

    /**
     * Makes the transport's (dual-stack) client sockets: a constructor reference, not Netty's
     * ReflectiveChannelFactory, whose {@code Constructor.newInstance} under churn allocated each channel through the
     * VM's slow instantiation path (~6 % of the event loop's user time per upstream connect).
     */
    public abstract ChannelFactory<SocketChannel> socketFactory();

    /**
     * Sockets of the IPv4 family only, for IPv4 peers; null where the transport makes dual-stack sockets alone
     * (io_uring's public constructor). A dual-stack socket costs an IPV6_V6ONLY setsockopt when made and IPv4-mapped
     * addresses in every address call: measurable per connection under churn.
     */
    public ChannelFactory<SocketChannel> inetSocketFactory() {
        return null;
    }

    /** Null when the transport cannot set it. */
    public abstract ChannelOption<Integer> keepIdleOption();

    /** Null when the transport cannot set it. */
    public abstract ChannelOption<Boolean> reusePortOption();

    public EventLoopGroup newGroup(int threads, ThreadFactory threadFactory) {
        return new MultiThreadIoEventLoopGroup(threads, threadFactory, ioHandlerFactory());
    }
}
