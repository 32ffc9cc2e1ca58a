package dev.ferry.agent.capture;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketReadMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The Unix socket the CNI plugin calls, in a 0700 directory (so only root can even connect; SO_PEERCRED is checked
 * as well). Needs an epoll event-loop group: io_uring and NIO have no fd passing here.
 */
public final class PodEventServer implements AutoCloseable {
    private final Channel channel;
    private final ExecutorService worker;
    private final Path socket;

    private PodEventServer(Channel channel, ExecutorService worker, Path socket) {
        this.channel = channel;
        this.worker = worker;
        this.socket = socket;
    }

    public static PodEventServer bind(EventLoopGroup epollGroup, Path socket, PodEvents events)
            throws IOException, InterruptedException {
        Path dir = socket.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        // Bind under a private name, then rename over the public one: atomic for the plugin, and a previous agent
        // closing later (Netty unlinks a domain socket's bound path on close) removes only its own private name.
        Path bound = socket.resolveSibling(socket.getFileName() + "."
                + ProcessHandle.current().pid() + "." + Integer.toHexString(System.identityHashCode(events)));
        Files.deleteIfExists(bound);
        ExecutorService worker = Executors.newSingleThreadExecutor(
                r -> Thread.ofPlatform().daemon().name("ferry-pod-events").unstarted(r));
        Channel ch = new ServerBootstrap()
                .group(epollGroup)
                .channel(EpollServerDomainSocketChannel.class)
                .childOption(ChannelOption.AUTO_READ, false)
                .childOption(EpollChannelOption.DOMAIN_SOCKET_READ_MODE, DomainSocketReadMode.FILE_DESCRIPTORS)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel c) {
                        c.pipeline().addLast(new PodEventHandler(events, worker));
                    }
                })
                .bind(new DomainSocketAddress(bound.toFile()))
                .sync()
                .channel();
        Files.move(
                bound,
                socket,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        return new PodEventServer(ch, worker, socket);
    }

    public Path socket() {
        return socket;
    }

    @Override
    public void close() throws IOException {
        channel.close().awaitUninterruptibly();
        worker.shutdownNow();
        // The public socket file is left in place: in a rolling upgrade it is already the new agent's. A stale one
        // only makes the plugin's connect fail, which is CNI code 11: the runtime retries; the next agent replaces it.
    }
}
