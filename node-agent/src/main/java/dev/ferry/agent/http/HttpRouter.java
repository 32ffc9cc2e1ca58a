package dev.ferry.agent.http;

import dev.ferry.agent.routing.RequestBalancer;
import dev.ferry.mesh.Endpoint;
import dev.ferry.mesh.MeshSnapshot;
import dev.ferry.mesh.Service;
import dev.ferry.mesh.ServiceBinding;
import dev.ferry.mesh.lb.LoadBalancing;
import dev.ferry.mesh.route.HttpFilter;
import dev.ferry.mesh.route.HttpMatch;
import dev.ferry.mesh.route.HttpRouteRule;
import dev.ferry.mesh.route.RouteTable;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetAddress;
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
    private final RequestBalancer balancer;
    private final RandomGenerator random;

    HttpRouter(RequestBalancer balancer, RandomGenerator random) {
        this.balancer = balancer;
        this.random = random;
    }

    RequestPlan plan(
            MeshSnapshot snapshot,
            ServiceBinding addressed,
            String clientNamespace,
            InetAddress sourceIp,
            HttpRequest request) {
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
                routeName = m.name();
                List<HttpFilter.HeaderModifier> response = null; // most rules modify no response: no list
                List<HttpFilter> filters = rule.filters();
                for (int i = 0; i < filters.size(); i++) {
                    switch (filters.get(i)) {
                        case HttpFilter.HeaderModifier h
                        when h.response() -> {
                            if (response == null) {
                                response = new ArrayList<>(1);
                            }
                            response.add(h);
                        }
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
                responseFilters = response == null ? List.of() : response;
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
        LoadBalancing lb =
                snapshot.loadBalancing(target.service(), target.port().port(), clientNamespace);
        long key = hashKey(lb, request, sourceIp);
        Endpoint endpoint = balancer.pick(target, lb, key, null);
        if (endpoint == null) {
            return new RequestPlan.Answer(
                    503,
                    null,
                    "UH",
                    "service " + target.service().key() + ":" + target.port().port() + " has no ready endpoint");
        }
        return new RequestPlan.Send(target, endpoint, responseFilters, routeName, timeouts, retry, lb, key);
    }

    /** The request's key for a consistent-hash policy, or {@link RequestBalancer#NO_KEY} (then spread at random). */
    static long hashKey(LoadBalancing lb, HttpRequest request, InetAddress sourceIp) {
        if (!(lb instanceof LoadBalancing.ConsistentHash h)) {
            return RequestBalancer.NO_KEY;
        }
        String value = switch (h.key()) {
            case LoadBalancing.HashKey.Header hd -> request.headers().get(hd.name());
            case LoadBalancing.HashKey.QueryParameter q -> {
                var values = new QueryStringDecoder(request.uri()).parameters().get(q.name());
                yield values == null || values.isEmpty() ? null : values.getFirst();
            }
            case LoadBalancing.HashKey.SourceIp s -> sourceIp == null ? null : sourceIp.getHostAddress();
        };
        if (value == null) {
            return RequestBalancer.NO_KEY;
        }
        return RequestBalancer.key(value);
    }

    /** A weighted random choice; null when no backend has a weight. */
    HttpRouteRule.Backend pick(List<HttpRouteRule.Backend> backends) {
        if (backends.size() == 1) {
            HttpRouteRule.Backend only = backends.getFirst();
            return only.weight() > 0 ? only : null; // no draw for the usual single backend
        }
        long total = 0;
        for (int i = 0; i < backends.size(); i++) {
            total += backends.get(i).weight();
        }
        if (total <= 0) {
            return null;
        }
        long r = random.nextLong(total);
        for (int i = 0; i < backends.size(); i++) {
            r -= backends.get(i).weight();
            if (r < 0) {
                return backends.get(i);
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
