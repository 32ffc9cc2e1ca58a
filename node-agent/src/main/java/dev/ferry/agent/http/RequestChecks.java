package dev.ferry.agent.http;

import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpLineException;
import java.util.List;

/**
 * What a request head must satisfy beyond what Netty's decoder already refuses. The decoder (strict line parsing,
 * RFC 9112 framing) answers for bad request lines, bare CR or LF, bad header names, a space before the colon,
 * Content-Length with Transfer-Encoding, repeated or non-numeric Content-Length, a Transfer-Encoding not ending in
 * chunked, and bad chunks. Here: the Host header (RFC 9112 3.2: exactly one in HTTP/1.1, since a proxy and its
 * upstream could disagree on the authority of a request with two) and the number of header fields.
 */
final class RequestChecks {
    /** Envoy's default {@code max_headers_count}. */
    static final int MAX_HEADERS = 100;

    /** Why a head is refused: the status to answer and what to log. */
    record Refusal(HttpResponseStatus status, String reason) {}

    private RequestChecks() {}

    /** The answer to a request the codec could not read: 414 for a long line, 431 for a large head, else 400. */
    static HttpResponseStatus statusOf(DecoderResult result) {
        Throwable cause = result.cause();
        return cause instanceof TooLongHttpLineException
                ? HttpResponseStatus.REQUEST_URI_TOO_LONG
                : cause instanceof TooLongFrameException
                        ? HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
                        : HttpResponseStatus.BAD_REQUEST;
    }

    /** The refusal for a head, or null when it may be routed. */
    static Refusal check(HttpRequest req) {
        if (req.headers().size() > MAX_HEADERS) {
            return new Refusal(
                    HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "more than " + MAX_HEADERS + " header fields");
        }
        List<String> hosts = req.headers().getAll(HttpHeaderNames.HOST);
        if (hosts.size() > 1) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "more than one Host header");
        }
        if (hosts.isEmpty() && !req.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "no Host header");
        }
        if (!hosts.isEmpty() && (hosts.getFirst().isEmpty() || hosts.getFirst().indexOf(' ') >= 0)) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "bad Host header");
        }
        return null;
    }

    /**
     * The destination's checks, for HTTP/1.1 and each HTTP/2 stream alike: {@link #check}, then the path normalized
     * in place ({@link Paths#normalize}), so the app serves the path the policy judges.
     */
    static Refusal checkAtTheDestination(HttpRequest req) {
        Refusal refusal = check(req);
        if (refusal != null) {
            return refusal;
        }
        String normalized = Paths.normalize(req.uri());
        if (normalized == null) {
            return new Refusal(HttpResponseStatus.BAD_REQUEST, "bad percent-encoding in the path");
        }
        req.setUri(normalized);
        return null;
    }
}
