package dev.ferry.agent.admin;

import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;

/**
 * {@code /metrics} and {@code /stats/prometheus}: the registry in the format the scraper asks for (Prometheus text by
 * default, OpenMetrics or protobuf by {@code Accept}). A scrape is CPU work over in-memory counters, fine on an event
 * loop.
 */
public final class MetricsHandler implements ControlRoute {
    private final PrometheusRegistry registry;
    private final ExpositionFormats formats = ExpositionFormats.init();

    public MetricsHandler(PrometheusRegistry registry) {
        this.registry = registry;
    }

    @Override
    public ControlResponse handle(ControlRequest request) throws java.io.IOException {
        ExpositionFormatWriter writer = formats.findWriter(request.headers().get("Accept"));
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        writer.write(out, registry.scrape());
        return new ControlResponse(200, writer.getContentType(), out.toByteArray());
    }
}
