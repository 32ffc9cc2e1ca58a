package dev.ferry.mesh.authz;

import java.util.List;

/**
 * The outcome of {@link PolicyEngine#check}.
 *
 * @param policy the deciding policy ({@code namespace/name}); empty when none decided (no ALLOW policy applies, or
 *     none matched)
 * @param audited AUDIT policies that matched (to be logged; they never change the outcome)
 */
public record Decision(boolean allowed, String reason, String policy, List<String> audited) {
    public Decision {
        audited = List.copyOf(audited);
    }
}
