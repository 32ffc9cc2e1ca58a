package dev.ferry.agent.http;

import dev.ferry.agent.routing.LoadBalancer;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.route.HttpFilter;
import dev.ferry.mesh.route.HttpMatch;
import dev.ferry.mesh.route.HttpRouteRule;
import dev.ferry.mesh.route.RouteTable;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Decides one request: the route the Service's HTTPRoutes give it (Gateway API precedence; none attached: the
 * Service itself), the rule's filters in order (request headers and URL rewritten in place, a redirect answered
 * here), a backend Service by weight, and an endpoint of it by the balancer. Routes that name an unknown backend, or
 * whose weights are all zero, answer 500 as the spec says; a backend without a ready endpoint answers 503 (UH).
 */
final class HttpRouter {
    private final LoadBalancer balancer;
    private final RandomGenerator random;

    HttpRouter(LoadBalancer balancer, RandomGenerator random) {
        this.balancer = balancer;
        this.random = random;
    }

    RequestPlan plan(MeshSnapshot snapshot, ServiceBinding addressed, String clientNamespace, HttpRequest request) {
        Service service = addressed.service();
        ServiceBinding target = addressed;
        String routeName = null;
        List<HttpFilter.HeaderModifier> responseFilters = List.of();
        HttpRouteRule.Timeouts timeouts = HttpRouteRule.Timeouts.NONE;
        HttpRouteRule.Retry retry = null;
        RouteTable.Result result = snapshot.routes()
                .match(
                        service.namespace(),
                        service.name(),
                        addressed.port().port(),
                        clientNamespace,
                        new HttpRequestView(request));
        switch (result) {
            case RouteTable.Unrouted u -> {}
            case RouteTable.NoMatch n -> {
                return new RequestPlan.Answer(404, null, "NR", "no route of " + service.key() + " matches");
            }
            case RouteTable.Matched m -> {
                HttpRouteRule rule = m.candidate().rule();
                routeName = m.candidate().route().key() + (rule.name() == null ? "" : "#" + rule.name());
                List<HttpFilter.HeaderModifier> response = new ArrayList<>(1);
                for (HttpFilter f : rule.filters()) {
                    switch (f) {
                        case HttpFilter.HeaderModifier h when h.response() -> response.add(h);
                        case HttpFilter.HeaderModifier h -> HeaderFilters.apply(h, request.headers());
                        case HttpFilter.UrlRewrite u ->
                            rewrite(request, u, m.candidate().match().path());
                        case HttpFilter.RequestRedirect r -> {
                            return new RequestPlan.Answer(
                                    r.statusCode(),
                                    Redirects.location(
                                            request, r, m.candidate().match().path()),
                                    "-",
                                    "redirect");
                        }
                    }
                }
                responseFilters = response;
                timeouts = rule.timeouts();
                retry = rule.retry();
                HttpRouteRule.Backend backend = pick(rule.backends());
                if (backend == null) {
                    return new RequestPlan.Answer(500, null, "NR", routeName + ": no backend with a weight");
                }
                target = binding(snapshot, backend);
                if (target == null) {
                    return new RequestPlan.Answer(
                            500,
                            null,
                            "NR",
                            routeName + ": backend " + backend.namespace() + "/" + backend.name() + ":" + backend.port()
                                    + " is not a Service port with a cluster IP");
                }
            }
        }
        Endpoint endpoint = balancer.pick(target);
        if (endpoint == null) {
            return new RequestPlan.Answer(
                    503,
                    null,
                    "UH",
                    "service " + target.service().key() + ":" + target.port().port() + " has no ready endpoint");
        }
        return new RequestPlan.Send(target, endpoint, responseFilters, routeName, timeouts, retry);
    }

    /** A weighted random choice; null when no backend has a weight. */
    HttpRouteRule.Backend pick(List<HttpRouteRule.Backend> backends) {
        long total = 0;
        for (HttpRouteRule.Backend b : backends) {
            total += b.weight();
        }
        if (total <= 0) {
            return null;
        }
        long r = random.nextLong(total);
        for (HttpRouteRule.Backend b : backends) {
            r -= b.weight();
            if (r < 0) {
                return b;
            }
        }
        return backends.getLast(); // not reached
    }

    private static ServiceBinding binding(MeshSnapshot snapshot, HttpRouteRule.Backend b) {
        Service s = snapshot.service(b.namespace(), b.name()).orElse(null);
        if (s == null || s.vips().isEmpty()) {
            return null;
        }
        return snapshot.bindingFor(new InetSocketAddress(s.vips().getFirst(), b.port()));
    }

    private static void rewrite(HttpRequest request, HttpFilter.UrlRewrite u, HttpMatch.PathMatch matched) {
        if (u.hostname() != null) {
            request.headers().set(HttpHeaderNames.HOST, u.hostname());
        }
        if (u.path() != null) {
            String uri = request.uri();
            int q = uri.indexOf('?');
            String path = q < 0 ? uri : uri.substring(0, q);
            String query = q < 0 ? "" : uri.substring(q);
            request.setUri(Redirects.modifyPath(path, u.path(), matched) + query);
        }
    }
}
