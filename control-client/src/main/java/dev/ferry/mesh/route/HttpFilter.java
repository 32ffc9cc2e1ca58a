package dev.ferry.mesh.route;

import java.util.List;
import java.util.Map;

/** The Gateway API filters Ferry applies, in the order a rule lists them. */
public sealed interface HttpFilter {
    /**
     * Sets (replacing), adds (appending) and removes headers. Names as written; matched case-insensitively.
     *
     * @param set name to value
     * @param add name to value
     */
    record HeaderModifier(boolean response, Map<String, String> set, Map<String, String> add, List<String> remove)
            implements HttpFilter {
        public HeaderModifier {
            set = Map.copyOf(set);
            add = Map.copyOf(add);
            remove = List.copyOf(remove);
        }
    }

    /** Rewrites the request before it is sent: the Host and/or the path (a full replacement or a prefix swap). */
    record UrlRewrite(String hostname, PathModifier path) implements HttpFilter {}

    /**
     * Answers with a redirect instead of sending the request on; null fields keep the request's own.
     *
     * @param statusCode 301, 302 (the default), 303, 307 or 308
     */
    record RequestRedirect(String scheme, String hostname, Integer port, PathModifier path, int statusCode)
            implements HttpFilter {}

    /** {@code ReplaceFullPath} (value is the new path) or {@code ReplacePrefixMatch} (value replaces the matched prefix). */
    record PathModifier(boolean fullPath, String value) {}
}
