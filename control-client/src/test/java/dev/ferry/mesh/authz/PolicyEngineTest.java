package dev.ferry.mesh.authz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ferry.mesh.Cidr;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The engine's index against a brute-force reading of the same rules, and what a decision reports. */
class PolicyEngineTest {
    private static final String[] NS = {"prod", "dev", "shop", "istio-system"};
    private static final String[] APPS = {"web", "db", "cache", "api"};

    @Test
    void indexedDecisionsEqualBruteForceOverHundredsOfPolicies() throws Exception {
        Random rnd = new Random(42);
        List<AuthorizationPolicy> policies = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            String ns = NS[rnd.nextInt(NS.length)];
            Map<String, String> selector = switch (rnd.nextInt(3)) {
                case 0 -> Map.of();
                case 1 -> Map.of("app", APPS[rnd.nextInt(APPS.length)]);
                default -> Map.of("app", APPS[rnd.nextInt(APPS.length)], "version", "v" + rnd.nextInt(2));
            };
            AuthorizationPolicy.Action action = AuthorizationPolicy.Action.values()[rnd.nextInt(3)];
            Source src = new Source(
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(Cidr.parse("10.244." + rnd.nextInt(4) + ".0/24")),
                    List.of());
            Operation op = new Operation(
                    Set.of(8000 + rnd.nextInt(3)),
                    Set.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of(),
                    List.of());
            Rule rule = new Rule(List.of(src), List.of(op), List.of());
            String invalid = rnd.nextInt(200) == 0 ? "broken on purpose" : "";
            policies.add(new AuthorizationPolicy(ns, "p" + i, selector, action, List.of(rule), invalid));
        }
        PolicyEngine engine = PolicyEngine.of(policies, "istio-system");
        int denied = 0;
        for (int i = 0; i < 2000; i++) {
            String ns = NS[rnd.nextInt(3)];
            Map<String, String> labels = Map.of("app", APPS[rnd.nextInt(APPS.length)], "version", "v" + rnd.nextInt(2));
            AuthzContext ctx = AuthzContext.plaintext(
                    InetAddress.getByName("10.244." + rnd.nextInt(4) + "." + (1 + rnd.nextInt(200))),
                    ns,
                    labels,
                    8000 + rnd.nextInt(3));
            Decision d = engine.check(ctx);
            assertThat(d.allowed()).as("%s", ctx).isEqualTo(bruteForce(policies, ctx));
            denied += d.allowed() ? 0 : 1;
        }
        assertThat(denied).as("the sample exercises both outcomes").isBetween(20, 1980);
    }

    /** Istio's order with no index: every policy of the workload's namespace or the root namespace that selects it. */
    private static boolean bruteForce(List<AuthorizationPolicy> policies, AuthzContext ctx) {
        boolean anyAllow = false;
        boolean allowMatched = false;
        for (AuthorizationPolicy p : policies) {
            boolean applies = (p.namespace().equals(ctx.workloadNamespace())
                            || p.namespace().equals("istio-system"))
                    && p.selects(ctx.workloadLabels());
            if (!applies) {
                continue;
            }
            if (p.action() == AuthorizationPolicy.Action.DENY && p.matches(ctx)) {
                return false;
            }
            if (p.action() == AuthorizationPolicy.Action.ALLOW) {
                anyAllow = true;
                allowMatched |= p.matches(ctx);
            }
        }
        return !anyAllow || allowMatched;
    }

    @Test
    void auditMatchesAreReportedAndNeverDecide() throws Exception {
        AuthorizationPolicy audit = new AuthorizationPolicy(
                "prod",
                "audit",
                Map.of(),
                AuthorizationPolicy.Action.AUDIT,
                List.of(new Rule(List.of(), List.of(), List.of())),
                "");
        Decision d = PolicyEngine.of(List.of(audit), "istio-system")
                .check(AuthzContext.plaintext(InetAddress.getByName("10.0.0.1"), "prod", Map.of(), 80));
        assertThat(d.allowed()).isTrue();
        assertThat(d.audited()).containsExactly("prod/audit");
        assertThat(d.policy()).isEmpty();
        assertThat(PolicyEngine.empty()
                        .check(AuthzContext.plaintext(InetAddress.getByName("10.0.0.1"), "prod", Map.of(), 80))
                        .reason())
                .isEqualTo("no policy applies");
    }
}
