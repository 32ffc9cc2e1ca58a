package dev.ferry.agent.support;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Reads sample values out of Prometheus text exposition, matching a metric name and a subset of labels. */
public final class PromText {
    private PromText() {}

    /** A registry's samples as the metrics endpoint would write them. */
    public static String scrape(PrometheusRegistry registry) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    /** Sum of all samples of {@code name} whose labels include every entry of {@code labels}. */
    public static double sum(String text, String name, Map<String, String> labels) {
        double total = 0;
        for (String line : text.split("\n")) {
            if (line.startsWith("#") || !line.startsWith(name)) {
                continue;
            }
            int brace = line.indexOf('{');
            int space = line.lastIndexOf(' ');
            String metric = brace < 0 ? line.substring(0, space) : line.substring(0, brace);
            if (!metric.equals(name)) {
                continue;
            }
            String labelText = brace < 0 ? "" : line.substring(brace, line.lastIndexOf('}') + 1);
            boolean all = labels.entrySet().stream()
                    .allMatch(e -> labelText.contains(e.getKey() + "=\"" + e.getValue() + "\""));
            if (all) {
                total += Double.parseDouble(line.substring(space + 1));
            }
        }
        return total;
    }
}
