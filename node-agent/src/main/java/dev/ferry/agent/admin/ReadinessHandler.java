package dev.ferry.agent.admin;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.util.function.Supplier;

/** {@code /healthz/ready}: 200 only when the agent says it is ready; otherwise 503 with the reason. */
public final class ReadinessHandler implements HttpHandler {
    /** @param notReadyReason empty when ready, else why not */
    private final Supplier<String> notReadyReason;

    public ReadinessHandler(Supplier<String> notReadyReason) {
        this.notReadyReason = notReadyReason;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        String why = notReadyReason.get();
        if (why.isEmpty()) {
            HttpEndpoints.text(ex, 200, "ready\n");
        } else {
            HttpEndpoints.text(ex, 503, "not ready: " + why + "\n");
        }
    }
}
