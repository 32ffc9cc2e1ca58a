package dev.ferry.agent.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.connection.ConnectionRecord;
import dev.ferry.agent.connection.Direction;
import dev.ferry.agent.connection.RequestRecord;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The per-request log line: Envoy's field names, the endpoint as {@code ip:port}, null when none was chosen. */
class AccessLogRequestLineTest {
    private final ConnectionRecord conn = new ConnectionRecord(
            7,
            Direction.OUTBOUND,
            "outbound",
            new InetSocketAddress(InetAddress.ofLiteral("10.244.1.2"), 40000),
            null,
            Instant.parse("2026-12-02T00:00:00Z"),
            0);

    private static RequestRecord request(InetSocketAddress upstream, int code, String flags) {
        return new RequestRecord(
                Instant.parse("2026-12-02T00:00:01Z"),
                "GET",
                "/a?b=1",
                "web",
                "HTTP/1.1",
                code,
                flags,
                3,
                upstream,
                "test/web#api",
                2,
                "rid-1",
                120,
                340);
    }

    @Test
    void theEndpointIsWrittenAsIpAndPort() {
        String line = AccessLog.requestLine(
                conn, request(new InetSocketAddress(InetAddress.ofLiteral("10.244.1.5"), 8080), 200, "-"));
        assertThat(line)
                .contains("\"upstream_host\":\"10.244.1.5:8080\"")
                .contains("\"method\":\"GET\"")
                .contains("\"response_code\":200")
                .contains("\"x_request_id\":\"rid-1\"");
    }

    @Test
    void noEndpointIsNull() {
        assertThat(AccessLog.requestLine(conn, request(null, 503, "UH")))
                .contains("\"upstream_host\":null")
                .contains("\"response_flags\":\"UH\"");
    }
}
