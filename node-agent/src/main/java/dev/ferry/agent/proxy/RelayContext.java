package dev.ferry.agent.proxy;

import dev.ferry.agent.connection.ConnectionObserver;
import dev.ferry.agent.connection.RelayTimers;
import dev.ferry.agent.connector.Connectors;
import dev.ferry.agent.http.HttpInbound;
import dev.ferry.agent.http.HttpOutbound;
import dev.ferry.agent.net.OriginalDestination;
import dev.ferry.agent.net.SocketFactory;
import dev.ferry.agent.observability.Metrics;
import dev.ferry.agent.routing.DestinationResolver;
import dev.ferry.agent.routing.RequestBalancer;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.time.Ticker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The agent-wide services every relayed connection uses. Immutable; shared by all listeners.
 *
 * @param snapshot the mesh state in force (workloads, Services, compiled policies: one reference, read once per
 *     decision so a connection never sees the policies of one state with the workloads of another)
 * @param timers the connections' timeouts, on the same clock as {@code ticker}
 * @param firstByteTimeout how long a connection may stay open without a byte in either direction (a client that
 *     connects and sends nothing, to a server that says nothing first, holds two fds and a slot under the limits)
 * @param http the HTTP layer for Service ports whose protocol is HTTP, or null when those are relayed as TCP
 * @param httpInbound the destination side's HTTP layer, for pods an L7 authorization policy selects
 * @param splice relay with {@code splice(2)} (epoll only) instead of copying through user memory
 */
public record RelayContext(
        Supplier<MeshSnapshot> snapshot,
        DestinationResolver resolver,
        RequestBalancer balancer,
        OriginalDestination originalDestination,
        SocketFactory sockets,
        ConnectionRegistry registry,
        Metrics metrics,
        ConnectionObserver observer,
        Ticker ticker,
        RelayTimers timers,
        Duration idleTimeout,
        Duration firstByteTimeout,
        Duration halfCloseTimeout,
        String trustDomain,
        String clusterDomain,
        boolean splice,
        AtomicLong ids,
        Connectors connectors,
        HttpOutbound http,
        HttpInbound httpInbound) {

    /** The same services with another socket factory (a pod's listener set creates its sockets in the pod). */
    public RelayContext withSockets(SocketFactory podSockets) {
        return new RelayContext(
                snapshot,
                resolver,
                balancer,
                originalDestination,
                podSockets,
                registry,
                metrics,
                observer,
                ticker,
                timers,
                idleTimeout,
                firstByteTimeout,
                halfCloseTimeout,
                trustDomain,
                clusterDomain,
                splice,
                ids,
                connectors,
                http,
                httpInbound);
    }
}
