package dev.ferry.agent.admin;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.List;
import java.util.Map;

/** One request to a control endpoint (admin, metrics, readiness), read in full; no body is kept. */
public record ControlRequest(String method, String path, Map<String, List<String>> parameters, HttpHeaders headers) {
    static ControlRequest of(String method, String uri, HttpHeaders headers) {
        QueryStringDecoder q = new QueryStringDecoder(uri);
        return new ControlRequest(method, q.path(), q.parameters(), headers);
    }
}
