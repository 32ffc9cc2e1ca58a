package dev.ferry.agent.observability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.agent.connection.CloseReason;
import dev.ferry.agent.connection.ConnectionLabels;
import dev.ferry.agent.support.PromText;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The TCP metrics through the per-label-set cache: every series counted where the counters alone would count it. */
class ConnectionMetricsTest {
    private static ConnectionLabels labels(String destination) {
        return new ConnectionLabels(
                "source", "client", "shop", "unknown", destination, "shop", "web", "shop", "unknown", "tcp", "unknown");
    }

    private static String scrape(Metrics m) throws Exception {
        return PromText.scrape(m.registry());
    }

    @Test
    void equalLabelSetsShareSeriesAndEachCloseFlagAndReasonIsItsOwn() throws Exception {
        Metrics m = new Metrics();
        var a = m.connection(labels("web.shop.svc.cluster.local"));
        var b = m.connection(labels("web.shop.svc.cluster.local")); // equal, not the same instance
        m.connection(labels("db.shop.svc.cluster.local"));
        a.sent().inc(10);
        b.sent().inc(5);
        a.received().inc(3);
        m.closed(labels("web.shop.svc.cluster.local"), "outbound", CloseReason.NORMAL);
        m.closed(labels("web.shop.svc.cluster.local"), "outbound", CloseReason.UPSTREAM_ABORT);
        m.closed(labels("web.shop.svc.cluster.local"), "inbound", CloseReason.NORMAL);
        m.closed(labels("db.shop.svc.cluster.local"), "outbound", CloseReason.NORMAL);

        String text = scrape(m);
        Map<String, String> web = Map.of("destination_service", "web.shop.svc.cluster.local");
        assertThat(PromText.sum(text, "istio_tcp_connections_opened_total", web))
                .isEqualTo(2);
        assertThat(PromText.sum(text, "istio_tcp_connections_opened_total", Map.of()))
                .isEqualTo(3);
        assertThat(PromText.sum(text, "istio_tcp_sent_bytes_total", web)).isEqualTo(15);
        assertThat(PromText.sum(text, "istio_tcp_received_bytes_total", web)).isEqualTo(3);
        assertThat(PromText.sum(
                        text,
                        "istio_tcp_connections_closed_total",
                        Map.of("destination_service", "web.shop.svc.cluster.local", "response_flags", "-")))
                .isEqualTo(2);
        assertThat(PromText.sum(
                        text,
                        "istio_tcp_connections_closed_total",
                        Map.of(
                                "destination_service",
                                "web.shop.svc.cluster.local",
                                "response_flags",
                                CloseReason.UPSTREAM_ABORT.responseFlag())))
                .isEqualTo(1);
        assertThat(PromText.sum(text, "istio_tcp_connections_opened_total", Map.of("response_flags", "-")))
                .as("opened and byte series keep the '-' flag")
                .isEqualTo(3);
        assertThat(PromText.sum(
                        text, "ferry_connections_closed_total", Map.of("direction", "outbound", "reason", "normal")))
                .isEqualTo(2);
        assertThat(PromText.sum(
                        text, "ferry_connections_closed_total", Map.of("direction", "inbound", "reason", "normal")))
                .isEqualTo(1);
        assertThat(PromText.sum(
                        text,
                        "ferry_connections_closed_total",
                        Map.of("direction", "outbound", "reason", "upstream_abort")))
                .isEqualTo(1);
        assertThat(text)
                .as("a reason's series appears with its first close, not before")
                .doesNotContain("reason=\"idle_timeout\"");
    }
}
