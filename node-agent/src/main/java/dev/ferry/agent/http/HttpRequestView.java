package dev.ferry.agent.http;

import dev.ferry.mesh.route.RequestView;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;

/** Route matching's view of a Netty request head; the query string is decoded only if a match asks for it. */
final class HttpRequestView implements RequestView {
    private final HttpRequest request;
    private final String path;
    private final int query;
    private QueryStringDecoder decoded;

    HttpRequestView(HttpRequest request) {
        this.request = request;
        String uri = request.uri();
        this.query = uri.indexOf('?');
        this.path = query < 0 ? uri : uri.substring(0, query);
    }

    @Override
    public String method() {
        return request.method().name();
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public String header(String lowerCaseName) {
        return request.headers().get(lowerCaseName);
    }

    @Override
    public String queryParam(String name) {
        if (query < 0) {
            return null;
        }
        if (decoded == null) {
            decoded = new QueryStringDecoder(request.uri());
        }
        List<String> values = decoded.parameters().get(name);
        return values == null || values.isEmpty() ? null : values.getFirst();
    }
}
