package dev.ferry.agent.admin;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /logging?level=debug} sets the root level; {@code POST /logging?dev.ferry.agent.proxy=trace} sets one
 * logger (Envoy's admin shape). {@code GET} lists non-default levels. Unknown levels are a 400, nothing changes.
 */
public final class LoggingHandler implements HttpHandler {
    @Override
    public void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        if ("GET".equals(method)) {
            HttpEndpoints.text(ex, 200, levels());
            return;
        }
        if (!"POST".equals(method)) {
            HttpEndpoints.text(ex, 405, "use POST /logging?level=<level> or POST /logging?<logger>=<level>\n");
            return;
        }
        Map<String, Level> changes = new LinkedHashMap<>();
        String query = ex.getRequestURI().getRawQuery();
        if (query == null || query.isEmpty()) {
            HttpEndpoints.text(ex, 400, "no level given: POST /logging?level=<trace|debug|info|warn|error|off>\n");
            return;
        }
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                HttpEndpoints.text(ex, 400, "bad parameter '" + pair + "': expected name=level\n");
                return;
            }
            String name = URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            Level level = Level.toLevel(value.toUpperCase(Locale.ROOT), null);
            if (level == null) {
                HttpEndpoints.text(ex, 400, "unknown level '" + value + "' (trace, debug, info, warn, error, off)\n");
                return;
            }
            changes.put("level".equals(name) ? org.slf4j.Logger.ROOT_LOGGER_NAME : name, level);
        }
        changes.forEach((name, level) -> ((Logger) LoggerFactory.getLogger(name)).setLevel(level));
        HttpEndpoints.text(ex, 200, levels());
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
