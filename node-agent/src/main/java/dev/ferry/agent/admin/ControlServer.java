package dev.ferry.agent.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * An HTTP/1.1 server for one set of control endpoints (admin, metrics or readiness), on the agent's own event loops
 * with Netty's codec. These ports face any pod (15020 and 15021 listen on all addresses), so a client must not be
 * able to hold them: a request must arrive whole within {@link Limits#requestTimeout()} of the connection opening
 * or of the previous answer (slowloris, a TLS ClientHello sent by a scraper set to https, a half request line), the
 * request line and headers are bounded, and each server takes at most {@link Limits#maxConnections()} at once and
 * {@link Limits#maxPerSource()} from one address.
 * Binds with accepting off; {@link #serve()} starts accepting (bind everything, then serve).
 */
public final class ControlServer implements AutoCloseable {
    /**
     * @param requestTimeout the time a whole request (line, headers, body) may take to arrive
     * @param maxConnections connections open at once; more are closed on accept
     */
    public record Limits(
            Duration requestTimeout, int maxConnections, int maxPerSource, int maxHeaderBytes, int maxBodyBytes) {
        /**
         * Scrapers and probes send a few hundred bytes at once and hold one or two connections: 5 s is generous, 64
         * connections ample per port, and 8 per source address keeps one pod from taking them all from the kubelet
         * and the scraper.
         */
        public static final Limits DEFAULT = new Limits(Duration.ofSeconds(5), 64, 8, 8192, 16384);
    }

    private final String name;
    private final Channel channel;

    private ControlServer(String name, Channel channel) {
        this.name = name;
        this.channel = channel;
    }

    /** Binds (accepting off); the caller waits on nothing: a failure to bind is thrown with the address named. */
    public static ControlServer bind(
            String name,
            EventLoopGroup group,
            Class<? extends ServerChannel> serverChannel,
            InetSocketAddress address,
            Map<String, ControlRoute> routes,
            Limits limits)
            throws java.io.IOException, InterruptedException {
        // One event loop per control server: the counts below are touched only there, so they need no lock.
        EventLoop loop = group.next();
        int[] open = {0};
        Map<InetAddress, Integer> perSource = new HashMap<>();
        ServerBootstrap b = new ServerBootstrap()
                .group(loop)
                .channel(serverChannel)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 64)
                .option(ChannelOption.AUTO_READ, false)
                .childOption(ChannelOption.AUTO_READ, false)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        InetAddress source = ((InetSocketAddress) ch.remoteAddress()).getAddress();
                        int fromSource = perSource.getOrDefault(source, 0);
                        if (open[0] >= limits.maxConnections() || fromSource >= limits.maxPerSource()) {
                            ch.close(); // at accept: nothing read, nothing logged per connection
                            return;
                        }
                        open[0]++;
                        perSource.put(source, fromSource + 1);
                        ch.closeFuture().addListener(f -> {
                            open[0]--;
                            perSource.computeIfPresent(source, (k, n) -> n > 1 ? n - 1 : null);
                        });
                        ch.pipeline()
                                .addLast("deadline", new RequestDeadlineHandler(limits.requestTimeout()))
                                .addLast("codec", new HttpServerCodec(4096, limits.maxHeaderBytes(), 8192))
                                .addLast("aggregate", new HttpObjectAggregator(limits.maxBodyBytes()))
                                .addLast("route", new ControlHandler(name, routes));
                    }
                });
        ChannelFuture f = b.bind(address).await();
        if (!f.isSuccess()) {
            throw new java.io.IOException(
                    "cannot bind " + name + " endpoint " + address.getAddress().getHostAddress() + ":"
                            + address.getPort() + ": " + f.cause().getMessage(),
                    f.cause());
        }
        return new ControlServer(name, f.channel());
    }

    /** Starts accepting. */
    public void serve() {
        channel.config().setAutoRead(true);
        channel.read();
    }

    public boolean isServing() {
        return channel.isActive() && channel.config().isAutoRead();
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    public String name() {
        return name;
    }

    /** The one event loop this server runs on. */
    public EventLoop eventLoop() {
        return channel.eventLoop();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly(2_000);
    }
}
