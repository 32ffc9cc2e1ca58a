package dev.ferry.agent.net;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.DefaultChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ReflectiveChannelFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.ServerChannelRecvByteBufAllocator;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollMode;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.uring.IoUringChannelOption;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * Native-transport sockets with the relay's options, in the agent's own network namespace or, with
 * {@link #inNamespace}, in a pod's: the socket is created with the event-loop thread briefly inside the pod's
 * namespace (setns, socket(), setns back) and marked {@code SO_MARK} 1337 so the pod's redirect rules skip it; it
 * stays in the pod's namespace for life, so the pod keeps its own source IP.
 */
public final class NativeSocketFactory implements SocketFactory {
    /**
     * Write-buffer marks per channel: stop reading the other side above 256 KiB queued, resume below 64 KiB. Large
     * enough to keep a 64 KiB read in flight on a fast link, small enough that 9,000 stalled readers stay bounded.
     */
    public static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    /**
     * Connections accepted per listener readiness at most: large enough to take a burst of clients in a few loop
     * iterations, bounded so a connection flood cannot hold the loop from the connections it already has.
     */
    static final int ACCEPTS_PER_WAKEUP = 256;

    /**
     * Epoll listeners accept until the queue is empty or {@link #ACCEPTS_PER_WAKEUP}. Netty's default stops after
     * one accept on epoll: its "maybe more data" test compares the accepted descriptor with the one byte it
     * "attempted", so with level-triggered epoll (the only mode of Netty 4.2) a listener took one connection per loop
     * iteration, about 50 a second when 2,048 connections kept the loop busy, and clients timed out in the accept
     * queue.
     */
    static ServerChannelRecvByteBufAllocator acceptBatches() {
        ServerChannelRecvByteBufAllocator a = new ServerChannelRecvByteBufAllocator();
        a.maxMessagesPerRead(ACCEPTS_PER_WAKEUP);
        a.respectMaybeMoreData(false);
        return a;
    }

    private final Transport transport;
    private final Duration connectTimeout;
    private final boolean keepalive;
    private final Duration keepaliveIdle;
    /** False for {@link #forRelay}'s sockets: keepalive comes later, from {@link #keepalive}. */
    private final boolean keepaliveAtConnect;
    /** This factory's {@link #forRelay} twin (itself when keepalive is off or already deferred). */
    private final NativeSocketFactory relayed;

    private final boolean splice;
    private final NetworkNamespace namespace;
    private final int mark;
    private final Sockets connectSockets;
    private final Sockets transparentSockets;
    /** Cleared, once, when the agent may not set SO_MARK in its own namespace (see factory). */
    private volatile boolean hostMarking = true;

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NativeSocketFactory.class);

    /** @param splice sockets for the splice relay: epoll in level-triggered mode, which Netty's splice requires */
    public NativeSocketFactory(
            Transport transport, Duration connectTimeout, boolean keepalive, Duration keepaliveIdle, boolean splice) {
        if (splice && transport != Transport.EPOLL) {
            throw new IllegalStateException("relay: splice needs transport epoll, not " + transport.label());
        }
        // Marked in the agent's own namespace too: a passthrough connection to an address that the node's own capture
        // rules redirect would otherwise come straight back to the agent, over and over, until the connection cap;
        // rules that skip mark 1337 (as Ferry's in-pod rules do) let it out. NIO cannot set the mark.
        this(
                transport,
                connectTimeout,
                keepalive,
                keepaliveIdle,
                splice,
                null,
                transport == Transport.NIO ? 0 : SocketMarks.FERRY_MARK,
                true);
    }

    private NativeSocketFactory(
            Transport transport,
            Duration connectTimeout,
            boolean keepalive,
            Duration keepaliveIdle,
            boolean splice,
            NetworkNamespace namespace,
            int mark,
            boolean keepaliveAtConnect) {
        if (namespace != null && transport == Transport.NIO) {
            throw new IllegalStateException("sockets in a pod's namespace need a native transport (epoll, io_uring)");
        }
        this.splice = splice;
        this.namespace = namespace;
        this.mark = mark;
        this.transport = transport;
        this.connectTimeout = connectTimeout;
        this.keepalive = keepalive;
        this.keepaliveIdle = keepaliveIdle;
        this.keepaliveAtConnect = keepaliveAtConnect;
        this.relayed = keepalive && keepaliveAtConnect
                ? new NativeSocketFactory(
                        transport, connectTimeout, keepalive, keepaliveIdle, splice, namespace, mark, false)
                : this;
        // Built once per mark, not per connect: each wraps the mark around the transport's constructor.
        this.connectSockets = sockets(mark);
        this.transparentSockets = sockets(SocketMarks.TRANSPARENT_MARK);
    }

    /** The same options, sockets created inside {@code namespace} and marked {@code mark}. */
    public NativeSocketFactory inNamespace(NetworkNamespace namespace, int mark) {
        return new NativeSocketFactory(
                transport, connectTimeout, keepalive, keepaliveIdle, splice, namespace, mark, true);
    }

    @Override
    public SocketFactory forRelay() {
        return relayed;
    }

    @Override
    public void keepalive(Channel upstream) {
        if (!keepalive || !(upstream instanceof SocketChannel) || !upstream.isOpen()) {
            return;
        }
        try {
            setKeepalive(upstream.config());
        } catch (ChannelException e) {
            // closed in between: nothing to keep alive
            log.debug("keepalive not set on {}: {}", upstream, e.getMessage());
        }
    }

    private void setKeepalive(ChannelConfig c) {
        c.setOption(ChannelOption.SO_KEEPALIVE, true);
        if (transport.keepIdleOption() != null) {
            c.setOption(transport.keepIdleOption(), (int) keepaliveIdle.toSeconds());
        }
    }

    /** Listeners: in a pod, created (and marked) inside it; in the agent's namespace, plain. */
    private <C extends Channel> ChannelFactory<C> listenerFactory(Class<? extends C> type) {
        return namespace == null ? new ReflectiveChannelFactory<>(type) : factory(type, mark);
    }

    /**
     * The upstream sockets of one mark: dual-stack, and IPv4-only for IPv4 peers where the transport has them
     * (epoll; a dual-stack socket costs an IPV6_V6ONLY call and mapped addresses in every address lookup).
     */
    private record Sockets(ChannelFactory<SocketChannel> dualStack, ChannelFactory<SocketChannel> inet) {
        ChannelFactory<SocketChannel> forPeer(InetSocketAddress remote, InetSocketAddress local) {
            boolean v4 = remote.getAddress() instanceof Inet4Address
                    && (local == null || local.getAddress() instanceof Inet4Address);
            return v4 ? inet : dualStack;
        }
    }

    private Sockets sockets(int socketMark) {
        ChannelFactory<SocketChannel> dualStack = factory(transport.socketFactory(), socketMark);
        ChannelFactory<SocketChannel> inet = transport.inetSocketFactory();
        return new Sockets(dualStack, inet == null ? dualStack : factory(inet, socketMark));
    }

    private <C extends Channel> ChannelFactory<C> factory(Class<? extends C> type, int socketMark) {
        return factory(new ReflectiveChannelFactory<>(type), socketMark);
    }

    private <C extends Channel> ChannelFactory<C> factory(ChannelFactory<C> plain, int socketMark) {
        if (namespace == null) {
            if (socketMark == 0) {
                return plain;
            }
            return () -> {
                C channel = plain.newChannel();
                if (hostMarking) {
                    try {
                        SocketMarks.mark(channel, socketMark);
                    } catch (IllegalStateException e) {
                        // Without CAP_NET_ADMIN (an agent run by hand, unprivileged) the node's sockets go unmarked:
                        // only rules of the node's own that capture them could loop, and those need root anyway.
                        hostMarking = false;
                        log.warn(
                                "node-level sockets are not marked {} ({}): capture rules on this node must not"
                                        + " redirect the agent's own connections",
                                socketMark,
                                e.getMessage());
                    }
                }
                return channel;
            };
        }
        return () -> {
            C channel = namespace.enter(plain::newChannel); // socket() runs inside the pod's namespace
            if (socketMark != 0) {
                SocketMarks.mark(channel, socketMark);
            }
            return channel;
        };
    }

    @Override
    public ChannelFuture listen(
            EventLoopGroup group,
            InetSocketAddress address,
            ChannelHandler serverHandler,
            ChannelHandler childHandler) {
        ChannelFactory<ServerChannel> listeners = this.listenerFactory(transport.serverChannel());
        // Native listeners carry the keepalive options themselves and hand them to every accepted socket.
        boolean inherited = keepalive && transport != Transport.NIO;
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channelFactory(inherited ? () -> withKeepalive(listeners.newChannel()) : listeners)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                // Bind everything, then serve: the caller turns accepting on once every listener is bound.
                .option(ChannelOption.AUTO_READ, false)
                .handler(serverHandler)
                .childHandler(childHandler)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true)
                // TCP_NODELAY: Netty's socket configs turn it on when they are made; setting it again cost a
                // setsockopt per socket.
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK);
        if (!inherited) {
            b.childOption(ChannelOption.SO_KEEPALIVE, keepalive);
            if (keepalive && transport.keepIdleOption() != null) {
                b.childOption(transport.keepIdleOption(), (int) keepaliveIdle.toSeconds());
            }
        }
        if (transport == Transport.EPOLL) {
            // io_uring keeps Netty's default: its multishot accept already takes every queued connection in one
            // completion batch (the accept queue stayed empty under 2,048 clients), and there this allocator would
            // hold the listener's read-complete back until 256 accepts.
            b.option(ChannelOption.RCVBUF_ALLOCATOR, acceptBatches());
        }
        if (splice) {
            b.childOption(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED);
        }
        if (namespace != null && transport.reusePortOption() != null) {
            // During a rolling upgrade the old and the new agent both listen in the pod; with tcp_migrate_req the
            // kernel hands the old listener's queued connections to the new one when the old closes.
            b.option(transport.reusePortOption(), true);
        }
        return b.bind(address);
    }

    private ServerChannel withKeepalive(ServerChannel listener) {
        InheritedKeepalive.set(listener, (int) keepaliveIdle.toSeconds()); // before listen(): no socket escapes it
        return listener;
    }

    @Override
    public ChannelFuture connect(EventLoop loop, InetSocketAddress remote, ChannelHandler handler) {
        return dial(loop, handler, remote, null);
    }

    /**
     * In a pod: an IP_TRANSPARENT socket bound to the original client's address, marked
     * {@link SocketMarks#TRANSPARENT_MARK} so the pod's policy routing hands the app's replies back to it.
     */
    @Override
    public ChannelFuture connectAs(
            EventLoop loop, InetSocketAddress remote, InetSocketAddress source, ChannelHandler handler) {
        if (namespace == null || transport == Transport.NIO) {
            return connect(loop, remote, handler);
        }
        return dial(loop, handler, remote, new InetSocketAddress(source.getAddress(), 0));
    }

    /**
     * A socket made, configured, registered and connected by hand rather than by a {@link Bootstrap}: a Bootstrap
     * per connect copies its option and attribute maps, looks its resolver up and chains promises of its own, which
     * was a tenth of the event loop's user time under connection churn. With {@code local}, an IP_TRANSPARENT socket
     * bound to it ({@link #connectAs}).
     */
    private ChannelFuture dial(
            EventLoop loop, ChannelHandler handler, InetSocketAddress remote, InetSocketAddress local) {
        boolean transparent = local != null;
        SocketChannel ch;
        try {
            ch = (transparent ? transparentSockets : connectSockets)
                    .forPeer(remote, local)
                    .newChannel();
        } catch (RuntimeException e) {
            // No socket (EMFILE, a pod's namespace gone). Callers read the failed future's channel (its close
            // future): a Bootstrap given a factory that fails as this one did builds the future around a placeholder
            // channel of Netty's own (closed, never registered), with no second attempt at a socket.
            ChannelFactory<SocketChannel> failing = () -> {
                throw e;
            };
            return new Bootstrap()
                    .group(loop)
                    .channelFactory(failing)
                    .handler(handler)
                    .connect(remote);
        }
        ChannelPromise connected = new DefaultChannelPromise(ch, loop);
        try {
            configure(ch.config(), transparent);
        } catch (RuntimeException e) {
            ch.unsafe().closeForcibly();
            return connected.setFailure(e);
        }
        ch.pipeline().addLast(handler);
        loop.register(ch).addListener(new ConnectOnceRegistered(remote, local, connected));
        return connected;
    }

    /**
     * Connects a socket once its loop has it. A record, not a lambda: made per connect, where a captured lambda is
     * slow (docs/profiling.md).
     */
    private record ConnectOnceRegistered(InetSocketAddress remote, InetSocketAddress local, ChannelPromise connected)
            implements ChannelFutureListener {
        @Override
        public void operationComplete(ChannelFuture registered) {
            if (!registered.isSuccess()) {
                registered.channel().unsafe().closeForcibly();
                connected.setFailure(registered.cause());
            } else {
                registered.channel().connect(remote, local, connected); // a null local address: the kernel picks one
            }
        }
    }

    private void configure(ChannelConfig c, boolean transparent) {
        c.setAutoRead(false);
        c.setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        c.setConnectTimeoutMillis((int) connectTimeout.toMillis());
        c.setWriteBufferWaterMark(WATER_MARK);
        if (keepalive && keepaliveAtConnect) { // TCP_NODELAY: on from Netty's config; SO_KEEPALIVE off on a new socket
            setKeepalive(c);
        }
        if (splice) {
            c.setOption(EpollChannelOption.EPOLL_MODE, EpollMode.LEVEL_TRIGGERED);
        }
        if (transparent) {
            c.setOption(
                    transport == Transport.EPOLL
                            ? EpollChannelOption.IP_TRANSPARENT
                            : IoUringChannelOption.IP_TRANSPARENT,
                    true);
        }
    }
}
