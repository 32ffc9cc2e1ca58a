package dev.ferry.agent.http;

import dev.ferry.mesh.authz.AuthzContext;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import java.util.List;

/** A request head as authorization policy reads it, the same for HTTP/1.1 and HTTP/2 at the destination. */
final class PolicyView {
    private PolicyView() {}

    /**
     * @param normalized the request's target after {@link Paths#normalize}: what the policy judges and the app gets
     */
    static AuthzContext.Http of(HttpRequest req, String normalized) {
        return new AuthzContext.Http(
                req.method().name(),
                Paths.pathOnly(normalized),
                req.headers().get(HttpHeaderNames.HOST, ""),
                name -> header(req, name));
    }

    /** A header looked up when a condition asks (Netty's lookup ignores case); repeated fields joined as one. */
    private static String header(HttpRequest req, String name) {
        List<String> all = req.headers().getAll(name);
        return all.isEmpty() ? null : all.size() == 1 ? all.getFirst() : String.join(",", all);
    }
}
