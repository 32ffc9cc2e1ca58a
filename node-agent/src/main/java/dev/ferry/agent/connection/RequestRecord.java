package dev.ferry.agent.connection;

import java.time.Instant;

/**
 * One finished HTTP request, for the access log: what the client asked, where it went, how it ended.
 *
 * @param responseFlags Envoy's flags ({@code -} when none): {@code NR} no route, {@code UH} no healthy upstream,
 *     {@code UF} upstream connect failure, {@code UC} upstream closed early, {@code UT} timed out, {@code DC}
 *     downstream closed early
 * @param upstreamHost the endpoint, or null when none was chosen (formatted only by a log that writes it)
 */
public record RequestRecord(
        Instant start,
        String method,
        String path,
        String authority,
        String protocol,
        int responseCode,
        String responseFlags,
        long durationMs,
        java.net.InetSocketAddress upstreamHost,
        String route,
        int attempts,
        String requestId,
        long requestBytes,
        long responseBytes) {}
