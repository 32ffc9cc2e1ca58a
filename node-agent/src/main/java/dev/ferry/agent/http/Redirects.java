package dev.ferry.agent.http;

import dev.ferry.mesh.route.HttpFilter;
import dev.ferry.mesh.route.HttpMatch;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;

/** Gateway API path modifiers and redirect locations. */
final class Redirects {
    private Redirects() {}

    /**
     * {@code ReplaceFullPath} replaces the path; {@code ReplacePrefixMatch} replaces the part a {@code PathPrefix}
     * match matched (whole segments) and keeps the rest, never producing {@code //}.
     */
    static String modifyPath(String path, HttpFilter.PathModifier m, HttpMatch.PathMatch matched) {
        if (m.fullPath()) {
            return m.value();
        }
        if (matched.type() != HttpMatch.PathMatch.Type.PREFIX) {
            return path;
        }
        String prefix = matched.value().length() > 1 && matched.value().endsWith("/")
                ? matched.value().substring(0, matched.value().length() - 1)
                : matched.value();
        String rest = prefix.equals("/") ? path : path.substring(Math.min(prefix.length(), path.length()));
        String value = m.value();
        if (value.endsWith("/") && rest.startsWith("/")) {
            value = value.substring(0, value.length() - 1);
        }
        String out = value + rest;
        return out.isEmpty() ? "/" : out.startsWith("/") ? out : "/" + out;
    }

    /** The {@code Location} of a redirect: the request's own scheme, host, port and path unless the filter sets them. */
    static String location(HttpRequest request, HttpFilter.RequestRedirect r, HttpMatch.PathMatch matched) {
        String uri = request.uri();
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? "" : uri.substring(q);
        String host = request.headers().get(HttpHeaderNames.HOST, "");
        Integer requestPort = null;
        int colon = host.lastIndexOf(':');
        if (colon > 0 && host.indexOf(']') < colon) {
            try {
                requestPort = Integer.parseInt(host.substring(colon + 1));
            } catch (NumberFormatException e) {
                requestPort = null;
            }
            host = host.substring(0, colon);
        }
        String scheme = r.scheme() == null ? "http" : r.scheme();
        String hostname = r.hostname() == null ? host : r.hostname();
        // the spec: no port given → the scheme's (when the scheme changes) or the request's; well-known ports omitted
        Integer port = r.port() != null ? r.port() : r.scheme() != null ? null : requestPort;
        boolean wellKnown =
                port == null || (scheme.equals("http") && port == 80) || (scheme.equals("https") && port == 443);
        String newPath = r.path() == null ? path : modifyPath(path, r.path(), matched);
        return scheme + "://" + hostname + (wellKnown ? "" : ":" + port) + newPath + query;
    }
}
