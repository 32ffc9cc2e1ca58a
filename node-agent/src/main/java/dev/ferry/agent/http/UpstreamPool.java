package dev.ferry.agent.http;

import dev.ferry.agent.connector.Connector;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.AttributeKey;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Idle HTTP/1.1 upstream connections kept for reuse, per event loop (a connection is only ever used by the loop it
 * lives on, so each loop's part is touched by one thread and needs no lock) and per (endpoint, connector, source
 * pod): a source's requests never ride another source's mTLS identity. At most {@link #MAX_IDLE_PER_KEY} idle
 * connections per key; a connection the server closes leaves the pool by itself (its close is
 * handled on its own loop, the one that owns its part of the pool).
 */
final class UpstreamPool {
    static final int MAX_IDLE_PER_KEY = 1024;

    /**
     * What a pooled connection is for. The hash is computed once: a record's generated hashCode and equals go through
     * method handles and showed in the L7 profile at a lookup per request.
     */
    record Key(InetSocketAddress target, Connector connector, String source, InetAddress sourceIp, int hash) {
        Key(InetSocketAddress target, Connector connector, String source, InetAddress sourceIp) {
            this(
                    target,
                    connector,
                    source,
                    sourceIp,
                    ((target.hashCode() * 31 + connector.hashCode()) * 31 + source.hashCode()) * 31
                            + Objects.hashCode(sourceIp));
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k
                    && hash == k.hash
                    && connector == k.connector
                    && target.equals(k.target)
                    && source.equals(k.source)
                    && Objects.equals(sourceIp, k.sourceIp);
        }
    }

    private static final AttributeKey<Boolean> WATCHED = AttributeKey.valueOf("ferry.pool.watched");

    private final Map<EventLoop, Map<Key, ArrayDeque<Channel>>> loops = new ConcurrentHashMap<>();

    /** An idle connection for {@code key}, or null; on {@code loop} only. */
    Channel take(EventLoop loop, Key key) {
        ArrayDeque<Channel> idle = forLoop(loop).get(key);
        if (idle == null) {
            return null;
        }
        Channel ch;
        while ((ch = idle.pollFirst()) != null) {
            if (ch.isActive()) {
                return ch;
            }
        }
        return null;
    }

    /** Keeps {@code ch} for reuse, or closes it when the key has enough idle ones; on {@code loop} only. */
    void give(EventLoop loop, Key key, Channel ch) {
        Map<Key, ArrayDeque<Channel>> m = forLoop(loop);
        ArrayDeque<Channel> idle = m.computeIfAbsent(key, k -> new ArrayDeque<>());
        if (idle.size() >= MAX_IDLE_PER_KEY || !ch.isActive()) {
            ch.close();
            return;
        }
        idle.addFirst(ch); // most recently used first: the others age out on the server's keep-alive timeout
        if (ch.attr(WATCHED).setIfAbsent(Boolean.TRUE) == null) {
            // once per connection, not per reuse: a connection lives for many requests
            ch.closeFuture().addListener(f -> {
                ArrayDeque<Channel> now = m.get(key);
                if (now != null && now.remove(ch) && now.isEmpty()) {
                    m.remove(key, now);
                }
            });
        }
    }

    private Map<Key, ArrayDeque<Channel>> forLoop(EventLoop loop) {
        return loops.computeIfAbsent(loop, l -> new HashMap<>());
    }
}
