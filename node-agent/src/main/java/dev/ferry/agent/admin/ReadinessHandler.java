package dev.ferry.agent.admin;

import java.util.function.Supplier;

/** {@code /healthz/ready}: 200 only when the agent says it is ready; otherwise 503 with the reason. */
public final class ReadinessHandler implements ControlRoute {
    /** @param notReadyReason empty when ready, else why not */
    private final Supplier<String> notReadyReason;

    public ReadinessHandler(Supplier<String> notReadyReason) {
        this.notReadyReason = notReadyReason;
    }

    @Override
    public ControlResponse handle(ControlRequest request) {
        String why = notReadyReason.get();
        return why.isEmpty()
                ? ControlResponse.text(200, "ready\n")
                : ControlResponse.text(503, "not ready: " + why + "\n");
    }
}
