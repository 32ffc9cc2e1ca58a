package dev.ferry.agent.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.nio.channels.ClosedChannelException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * HTTP/2 upstream connections per event loop and key (endpoint, connector, source pod), each carrying requests of
 * that loop to that endpoint as streams, as many as the server allows (then another connection): a request costs a
 * stream, not a connection (nor, through HBONE, a CONNECT). Requests that come while the connection is being opened wait for it. A connection that was
 * told GOAWAY, or closed, is replaced by the next request; one without streams for 90 s is closed. Each loop's part
 * is touched by that loop only.
 */
final class H2Pool {
    private static final long IDLE_SECONDS = 90;

    private final Map<EventLoop, Map<UpstreamPool.Key, List<Parent>>> loops = new ConcurrentHashMap<>();

    /** One shared connection and the streams it carries now (counted here: a stream opened this tick is not yet
     * active in the codec). */
    private static final class Parent {
        final Future<Channel> connection;
        int streams;
        /** A stream of this connection is over. */
        final Runnable release = () -> streams--;

        Parent(Future<Channel> connection) {
            this.connection = connection;
        }

        /** Room for one more stream: the server's SETTINGS_MAX_CONCURRENT_STREAMS (100 until it has said). */
        boolean hasRoom() {
            if (!connection.isDone()) {
                return streams < ASSUMED_MAX_STREAMS;
            }
            if (!usable(connection)) {
                return false;
            }
            Http2FrameCodec codec = connection.getNow().pipeline().get(Http2FrameCodec.class);
            return streams < Math.min(codec.connection().local().maxActiveStreams(), MAX_STREAMS_PER_CONNECTION);
        }
    }

    /** RFC 9113's advice for the least a server should allow; what we assume before its SETTINGS arrive. */
    private static final int ASSUMED_MAX_STREAMS = 100;
    /** Beyond this a connection's one TCP window and one event-loop turn serve too many requests: open another. */
    private static final int MAX_STREAMS_PER_CONNECTION = 1000;

    /**
     * A new stream to {@code key}'s endpoint, given to {@code then} (or why there is none): on a connection with room
     * for it, or on a new one (a server's stream limit is respected, not run into). At once when the connection is
     * up, so a request on a warm connection costs no promise and no task.
     *
     * @param connect opens a connection with the given pipeline through the key's connector
     */
    void stream(
            EventLoop loop,
            UpstreamPool.Key key,
            Function<ChannelInitializer<Channel>, Future<Channel>> connect,
            BiConsumer<Upstream, Throwable> then) {
        Map<UpstreamPool.Key, List<Parent>> m = loops.computeIfAbsent(loop, l -> new HashMap<>());
        List<Parent> parents = m.computeIfAbsent(key, k -> new ArrayList<>(1));
        Parent chosen = null;
        for (Parent p : parents) {
            if (p.hasRoom()) {
                chosen = p;
                break;
            }
        }
        if (chosen == null) {
            chosen = open(m, key, parents, connect);
        }
        Parent parent = chosen;
        parent.streams++;
        if (parent.connection.isDone()) {
            give(parent, then);
        } else {
            parent.connection.addListener(f -> give(parent, then));
        }
    }

    private static void give(Parent parent, BiConsumer<Upstream, Throwable> then) {
        Future<Channel> f = parent.connection;
        H2Upstreams h = f.isSuccess() ? f.getNow().pipeline().get(H2Upstreams.class) : null;
        if (h == null || !f.getNow().isActive()) {
            parent.streams--;
            then.accept(null, f.cause() != null ? f.cause() : new ClosedChannelException());
            return;
        }
        then.accept(h.open(parent.release), null);
    }

    private static Parent open(
            Map<UpstreamPool.Key, List<Parent>> m,
            UpstreamPool.Key key,
            List<Parent> parents,
            Function<ChannelInitializer<Channel>, Future<Channel>> connect) {
        Future<Channel> opening = connect.apply(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                initConnection(ch);
            }
        });
        Parent p = new Parent(opening);
        parents.add(p);
        Runnable forget = () -> {
            parents.remove(p);
            if (parents.isEmpty()) {
                m.remove(key, parents);
            }
        };
        opening.addListener(f -> {
            if (!f.isSuccess()) {
                forget.run();
            } else {
                ((Channel) f.getNow()).closeFuture().addListener(c -> forget.run());
            }
        });
        return p;
    }

    private static boolean usable(Future<Channel> parent) {
        if (!parent.isSuccess() || !parent.getNow().isActive()) {
            return false;
        }
        Http2FrameCodec codec = parent.getNow().pipeline().get(Http2FrameCodec.class);
        return codec != null && !codec.connection().goAwayReceived();
    }

    /** A shared connection's handlers, once it is open. */
    static void initConnection(Channel ch) {
        // the connector's sockets read on request (the L4 relay's back-pressure); a shared connection reads always:
        // its streams' flow control windows bound what it takes in
        ch.config().setAutoRead(true);
        ch.pipeline().addLast("h2", H2.client());
        // between the codec and the streams, where the frames pass (behind the streams it saw none, and fired every
        // 90 s whatever the traffic); idle by what it reads, so writes carry no listener
        ch.pipeline().addLast("idle", new IdleStateHandler(IDLE_SECONDS, 0, 0, TimeUnit.SECONDS));
        ch.pipeline().addLast("streams", new H2Upstreams());
        ch.pipeline().addLast("idle-close", new CloseWhenIdle());
    }

    private static final class CloseWhenIdle extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                Http2FrameCodec codec = ctx.pipeline().get(Http2FrameCodec.class);
                if (codec == null || codec.connection().numActiveStreams() == 0) {
                    ctx.close();
                }
            }
            ReferenceCountUtil.release(evt);
        }
    }
}
