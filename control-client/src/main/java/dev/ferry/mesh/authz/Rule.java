package dev.ferry.mesh.authz;

import java.util.List;

/**
 * One rule: it matches when any {@code from} source matches (or there are none), any {@code to} operation matches
 * (or there are none), and every {@code when} condition matches. {@code {}} matches everything.
 *
 * <p>On a connection that is not parsed as HTTP: a rule of an ALLOW (or AUDIT) policy that needs HTTP attributes
 * matches nothing; a DENY rule's HTTP conditions are dropped and what remains decides (fail safe: the deny gets
 * broader, never narrower). This is Istio's sidecar behaviour; ztunnel instead skips such rules entirely.
 */
public record Rule(List<Source> from, List<Operation> to, List<Condition> when) {
    public Rule {
        from = List.copyOf(from);
        to = List.copyOf(to);
        when = List.copyOf(when);
    }

    boolean needsHttp() {
        for (Operation o : to) {
            if (o.needsHttp()) {
                return true;
            }
        }
        for (Condition c : when) {
            if (c.needsHttp()) {
                return true;
            }
        }
        return false;
    }

    boolean matches(AuthzContext ctx, AuthorizationPolicy.Action action) {
        boolean ignoreHttp = ctx.http() == null;
        if (ignoreHttp && action != AuthorizationPolicy.Action.DENY && needsHttp()) {
            return false;
        }
        if (!from.isEmpty()) {
            boolean any = false;
            for (Source s : from) {
                if (s.matches(ctx)) {
                    any = true;
                    break;
                }
            }
            if (!any) {
                return false;
            }
        }
        if (!to.isEmpty()) {
            boolean any = false;
            for (Operation o : to) {
                if (o.matches(ctx, ignoreHttp)) {
                    any = true;
                    break;
                }
            }
            if (!any) {
                return false;
            }
        }
        for (Condition c : when) {
            if (ignoreHttp && c.needsHttp()) {
                continue; // DENY only (ALLOW returned above): the HTTP condition is dropped
            }
            if (!c.matches(ctx)) {
                return false;
            }
        }
        return true;
    }
}
