package dev.ferry.mesh.route;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * One rule of a route: requests matching any of {@code matches} (none: every request) get the filters, then go to
 * one of the backends by weight.
 *
 * @param name the rule's name (Gateway API named rules), or null
 * @param timeouts null fields mean none
 * @param retry null means no retries
 */
public record HttpRouteRule(
        String name,
        List<HttpMatch> matches,
        List<HttpFilter> filters,
        List<Backend> backends,
        Timeouts timeouts,
        Retry retry) {
    public HttpRouteRule {
        matches = List.copyOf(matches);
        filters = List.copyOf(filters);
        backends = List.copyOf(backends);
        timeouts = timeouts == null ? Timeouts.NONE : timeouts;
    }

    /** A Service backend and its weight (0: never chosen). */
    public record Backend(String namespace, String name, int port, int weight) {}

    /**
     * @param request the whole request, retries included, from the first byte in to the last byte out
     * @param backendRequest one attempt to one backend
     */
    public record Timeouts(Duration request, Duration backendRequest) {
        public static final Timeouts NONE = new Timeouts(null, null);
    }

    /**
     * Gateway API's {@code retry}: which response codes are retried (connection errors, resets and backend timeouts
     * are retried too), how many retries may follow the first attempt ({@code attempts: 2} is up to two more, as
     * the spec counts them), and the least wait before a retry (the base of an exponential backoff with jitter).
     */
    public record Retry(Set<Integer> codes, int attempts, Duration backoff) {
        public Retry {
            codes = Set.copyOf(codes);
        }
    }
}
