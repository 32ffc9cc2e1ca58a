package dev.ferry.agent.http;

import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.lb.LoadBalancing;
import dev.ferry.mesh.route.HttpFilter;
import dev.ferry.mesh.route.HttpRouteRule;
import java.util.List;

/** What to do with one request, decided by {@link HttpRouter} from the snapshot it arrived under. */
sealed interface RequestPlan {
    /**
     * Answer here, without an upstream.
     *
     * @param location for a redirect, else null
     * @param flags the response flags the answer is reported with
     */
    record Answer(int status, String location, String flags, String detail) implements RequestPlan {}

    /**
     * Send to {@code endpoint} of {@code binding}; the request head has been rewritten by the rule's filters.
     *
     * @param responseFilters applied to the response head
     * @param route {@code namespace/name} of the route (and rule name after {@code #}), or null when unrouted
     * @param timeouts the rule's timeouts ({@link HttpRouteRule.Timeouts#NONE} when unrouted)
     * @param retry the rule's retry policy, or null
     * @param loadBalancing the backend's policy, and the request's hash key for it: a retry picks by them too
     */
    record Send(
            ServiceBinding binding,
            Endpoint endpoint,
            List<HttpFilter.HeaderModifier> responseFilters,
            String route,
            HttpRouteRule.Timeouts timeouts,
            HttpRouteRule.Retry retry,
            LoadBalancing loadBalancing,
            long hashKey)
            implements RequestPlan {}
}
