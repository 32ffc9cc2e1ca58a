package dev.ferry.agent.http;

import dev.ferry.mesh.route.HttpFilter;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Map;

/** Applies Gateway API header modifiers: set replaces, add appends, remove deletes (names case-insensitive). */
final class HeaderFilters {
    private HeaderFilters() {}

    static void apply(HttpFilter.HeaderModifier m, HttpHeaders headers) {
        for (Map.Entry<String, String> e : m.set().entrySet()) {
            headers.set(e.getKey(), e.getValue());
        }
        for (Map.Entry<String, String> e : m.add().entrySet()) {
            headers.add(e.getKey(), e.getValue());
        }
        for (String name : m.remove()) {
            headers.remove(name);
        }
    }
}
