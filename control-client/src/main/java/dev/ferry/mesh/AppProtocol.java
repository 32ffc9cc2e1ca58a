package dev.ferry.mesh;

import java.util.Locale;

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

    public static AppProtocol of(ServicePort port) {
        if (port.appProtocol() != null && !port.appProtocol().isEmpty()) {
            AppProtocol declared = named(port.appProtocol());
            return declared == null ? TCP : declared;
        }
        String name = port.name() == null ? "" : port.name().toLowerCase(Locale.ROOT);
        int dash = name.indexOf('-');
        AppProtocol prefixed = named(dash < 0 ? name : name.substring(0, dash));
        return prefixed == null ? TCP : prefixed;
    }

    /** The protocol a name means, or null when it means none Ferry parses (tcp, tls, mongo, unknown ones...). */
    private static AppProtocol named(String raw) {
        return switch (raw.toLowerCase(Locale.ROOT)) {
            case "http", "grpc-web" -> HTTP; // gRPC-Web is HTTP/1.1 or HTTP/2 from browsers, without trailers
            case "http2", "kubernetes.io/h2c" -> HTTP2;
            case "grpc" -> GRPC;
            default -> null;
        };
    }
}
