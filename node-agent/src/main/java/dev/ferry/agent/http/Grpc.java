package dev.ferry.agent.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;

/**
 * What the HTTP layer reads of gRPC: whether a request is one (its content-type), its status (the
 * {@code grpc-status} of the trailers, or of the headers of a trailers-only answer), and the HTTP code a status
 * stands for when a route's retry {@code codes} are checked — Envoy's mapping (gRPC's own document maps the other
 * way): UNAVAILABLE is 503, RESOURCE_EXHAUSTED 429, DEADLINE_EXCEEDED 504, and so on. Only a trailers-only answer can
 * be retried: once a gRPC answer's body has gone to the client, its trailers come too late.
 */
final class Grpc {
    private Grpc() {}

    static boolean isGrpc(HttpHeaders requestHeaders) {
        String type = requestHeaders.get(HttpHeaderNames.CONTENT_TYPE);
        return type != null && type.regionMatches(true, 0, "application/grpc", 0, 16);
    }

    /** The status in these headers, or null. */
    static String status(HttpHeaders h) {
        return h.get("grpc-status");
    }

    /**
     * The gRPC status an answer's part carries, else {@code current}: a head's (a trailers-only answer) or the last
     * part's trailers.
     */
    static String status(HttpObject o, String current) {
        String g = o instanceof LastHttpContent last ? status(last.trailingHeaders()) : null;
        if (g == null && o instanceof HttpResponse r) {
            g = status(r.headers());
        }
        return g != null ? g : current;
    }

    /** Envoy's {@code Grpc::Utility::grpcToHttpStatus}; -1 for a status that is not a number. */
    static int httpCode(String grpcStatus) {
        int s;
        try {
            s = Integer.parseInt(grpcStatus.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
        return switch (s) {
            case 0 -> 200;
            case 1 -> 499; // CANCELLED
            case 3, 9, 11 -> 400; // INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE
            case 4 -> 504; // DEADLINE_EXCEEDED
            case 5 -> 404; // NOT_FOUND
            case 6, 10 -> 409; // ALREADY_EXISTS, ABORTED
            case 7 -> 403; // PERMISSION_DENIED
            case 8 -> 429; // RESOURCE_EXHAUSTED
            case 12 -> 501; // UNIMPLEMENTED
            case 14 -> 503; // UNAVAILABLE
            case 16 -> 401; // UNAUTHENTICATED
            default -> 500; // UNKNOWN, INTERNAL, DATA_LOSS and anything else
        };
    }
}
