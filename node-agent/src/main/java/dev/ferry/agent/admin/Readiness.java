package dev.ferry.agent.admin;

import java.util.List;
import java.util.function.Supplier;

/**
 * What {@code /healthz/ready} answers: the first of the agent's readiness checks that fails, in the order given
 * (draining, config in, listeners serving, workers alive, source fresh, certificates in), or empty when all pass.
 * Each check returns empty when it passes, else why not.
 */
public final class Readiness {
    private final List<Supplier<String>> checks;

    public Readiness(List<Supplier<String>> checks) {
        this.checks = List.copyOf(checks);
    }

    public String notReadyReason() {
        for (Supplier<String> check : checks) {
            String why = check.get();
            if (!why.isEmpty()) {
                return why;
            }
        }
        return "";
    }
}
