package dev.ferry.mesh;

/**
 * The application protocol of a Service port, by Istio's rules: {@code appProtocol} first ({@code http},
 * {@code http2}, {@code grpc}, {@code kubernetes.io/h2c}, {@code tcp}, ...), else the port name's prefix
 * ({@code http-}, {@code http2-}, {@code grpc-}, or the name alone), else opaque TCP. No sniffing: a port not declared
 * as HTTP is relayed as bytes.
 */
public enum AppProtocol {
    TCP,
    /** HTTP/1.1 (and h2c prior knowledge from clients that speak it). */
    HTTP,
    /** HTTP/2 cleartext to the upstream. */
    HTTP2,
    /** gRPC: HTTP/2 with trailers. */
    GRPC;

    public boolean isHttp() {
        return this != TCP;
    }

    /** Spoken as HTTP/2 (a stream per request): {@code http2} and {@code grpc}. */
    public boolean isHttp2() {
        return this == HTTP2 || this == GRPC;
    }

    /** Without allocating: the HTTP layer asks per request (the backend's protocol decides its upstream). */
    public static AppProtocol of(ServicePort port) {
        String declared = port.appProtocol();
        if (declared != null && !declared.isEmpty()) {
            AppProtocol p = named(declared, declared.length());
            return p == null ? TCP : p;
        }
        String name = port.name();
        if (name == null) {
            return TCP;
        }
        int dash = name.indexOf('-');
        AppProtocol prefixed = named(name, dash < 0 ? name.length() : dash);
        return prefixed == null ? TCP : prefixed;
    }

    /**
     * The protocol the first {@code len} characters of {@code raw} name, case-insensitively, or null when they name
     * none Ferry parses (tcp, tls, mongo, unknown ones...).
     */
    private static AppProtocol named(String raw, int len) {
        if (is(raw, len, "http") || is(raw, len, "grpc-web")) {
            return HTTP; // gRPC-Web is HTTP/1.1 or HTTP/2 from browsers, without trailers
        }
        if (is(raw, len, "http2") || is(raw, len, "kubernetes.io/h2c")) {
            return HTTP2;
        }
        return is(raw, len, "grpc") ? GRPC : null;
    }

    private static boolean is(String raw, int len, String word) {
        return len == word.length() && raw.regionMatches(true, 0, word, 0, len);
    }
}
