package dev.ferry.agent.admin;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /logging?level=debug} sets the root level; {@code POST /logging?dev.ferry.agent.proxy=trace} sets one
 * logger (Envoy's admin shape). {@code GET} lists non-default levels. Unknown levels are a 400, nothing changes.
 */
public final class LoggingHandler implements ControlRoute {
    @Override
    public ControlResponse handle(ControlRequest request) {
        String method = request.method();
        if ("GET".equals(method)) {
            return ControlResponse.text(200, levels());
        }
        if (!"POST".equals(method)) {
            return ControlResponse.text(405, "use POST /logging?level=<level> or POST /logging?<logger>=<level>\n");
        }
        if (request.parameters().isEmpty()) {
            return ControlResponse.text(400, "no level given: POST /logging?level=<trace|debug|info|warn|error|off>\n");
        }
        Map<String, Level> changes = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> p : request.parameters().entrySet()) {
            String name = p.getKey();
            String value = p.getValue().isEmpty() ? "" : p.getValue().getLast();
            Level level = value.isEmpty() ? null : Level.toLevel(value.toUpperCase(Locale.ROOT), null);
            if (level == null) {
                return ControlResponse.text(
                        400, "unknown level '" + value + "' for " + name + " (trace, debug, info, warn, error, off)\n");
            }
            changes.put("level".equals(name) ? org.slf4j.Logger.ROOT_LOGGER_NAME : name, level);
        }
        changes.forEach((name, level) -> ((Logger) LoggerFactory.getLogger(name)).setLevel(level));
        return ControlResponse.text(200, levels());
    }

    private static String levels() {
        StringBuilder sb = new StringBuilder();
        var context = (ch.qos.logback.classic.LoggerContext) LoggerFactory.getILoggerFactory();
        for (Logger l : context.getLoggerList()) {
            if (l.getLevel() != null) {
                sb.append(l.getName())
                        .append(": ")
                        .append(l.getLevel().toString().toLowerCase(Locale.ROOT))
                        .append('\n');
            }
        }
        return sb.toString();
    }
}
